"""Every use of transformers' KV-cache internals, in one place: continuous batching edits the rows of a
``DynamicCache`` (claimbench.models.decoders).

Version-coupled: written against the ``cache_utils`` of transformers 5.23.0 (requirements.txt):
``DynamicCache.layers``, each a ``DynamicLayer`` with ``keys`` / ``values`` tensors of shape (batch, heads, positions,
head_dim), ``lazy_initialization``, ``is_initialized``, ``layer_class_to_replicate``, ``batch_select_indices``, and
``DynamicCache(config=...)`` building sliding-window layers with a ``sliding_window`` attribute. A transformers
upgrade that changes any of these breaks this module only; tests/test_kv_cache.py checks each helper against the cache
transformers itself builds.
"""

from __future__ import annotations

import functools


def rows_editable(model, longest: int) -> bool:
    """Whether rows of the model's KV cache can be padded, joined and dropped freely: every layer global, or its
    sliding window longer than ``longest`` (then it never slides)."""
    from transformers import DynamicCache

    cache = DynamicCache(config=model.config)
    windows = [getattr(layer, "sliding_window", None) for layer in cache.layers]
    return all(w is None or w > longest for w in windows)


@functools.cache
def growable_layer_class():
    """A transformers ``DynamicLayer`` that appends in place.

    ``DynamicLayer.update`` concatenates the whole cache with each new token, copying every key and value once per
    decoding step: ~40% of a batch-8 step of SmolLM2 on this CPU (torch profiler). This layer keeps keys and values
    in buffers with room for ``GROW`` more positions, writes new ones in place and hands out views of the filled
    part; a buffer is copied only when it is full. Assigning ``keys``/``values`` (as ``batch_select_indices`` and the
    padding helpers below do) replaces the buffer, so every other ``DynamicLayer`` method works unchanged.
    """
    import torch
    from transformers.cache_utils import DynamicLayer

    def buffered(name):
        """A property over buffer ``_<name>`` and its filled length ``_<name>_length``; assigning a tensor replaces
        both (keys and values keep their own lengths, so assigning one never changes what the other reads)."""

        def get(self):
            buffer = getattr(self, f"_{name}", None)
            return None if buffer is None else buffer[..., : getattr(self, f"_{name}_length"), :]

        def set_(self, value):  # lazy_initialization assigns an empty 1-d tensor
            setattr(self, f"_{name}", value)
            setattr(self, f"_{name}_length", value.shape[-2] if value is not None and value.dim() == 4 else 0)

        return property(get, set_)

    class GrowableLayer(DynamicLayer):
        GROW = 256
        keys = buffered("keys")
        values = buffered("values")

        def update(self, key_states, value_states, *args, **kwargs):
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            n, new = self._keys_length, key_states.shape[-2]
            if self._keys.dim() != 4 or n + new > self._keys.shape[-2]:
                room = n + new + self.GROW
                keys = key_states.new_empty((*key_states.shape[:-2], room, key_states.shape[-1]))
                values = value_states.new_empty((*value_states.shape[:-2], room, value_states.shape[-1]))
                if n:
                    keys[..., :n, :] = self.keys
                    values[..., :n, :] = self.values
                self._keys, self._values = keys, values
            self._keys[..., n : n + new, :] = key_states
            self._values[..., n : n + new, :] = value_states
            self._keys_length = self._values_length = n + new
            return self.keys, self.values

    return GrowableLayer


def new_cache():
    """An empty ``DynamicCache`` whose layers (created on first use) are ``growable_layer_class()``."""
    from transformers import DynamicCache

    cache = DynamicCache()
    cache.layer_class_to_replicate = growable_layer_class()
    return cache


def pad_left(cache, n: int) -> None:
    import torch

    for layer in cache.layers:
        layer.keys = torch.nn.functional.pad(layer.keys, (0, 0, n, 0))
        layer.values = torch.nn.functional.pad(layer.values, (0, 0, n, 0))


def crop_left(cache, n: int) -> None:
    for layer in cache.layers:
        layer.keys = layer.keys[:, :, n:, :]
        layer.values = layer.values[:, :, n:, :]


def join_rows(cache, other) -> None:
    """Append the rows of ``other`` (same padded length) below those of ``cache``."""
    import torch

    for layer, extra in zip(cache.layers, other.layers):
        layer.keys = torch.cat([layer.keys, extra.keys])
        layer.values = torch.cat([layer.values, extra.values])


def select_rows(cache, index) -> None:
    """Keep only the rows ``index`` (a long tensor) of ``cache``."""
    cache.batch_select_indices(index)
