"""claimbench.models.kv_cache: the helpers over transformers' cache internals behave as transformers' own cache."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from transformers import DynamicCache, LlamaConfig  # noqa: E402
from transformers.cache_utils import DynamicLayer  # noqa: E402

from claimbench.models.kv_cache import (  # noqa: E402
    crop_left,
    growable_layer_class,
    join_rows,
    new_cache,
    pad_left,
    rows_editable,
    select_rows,
)


def test_growable_cache_layer_matches_dynamic_layer():
    """In-place appends past the spare room, row selection and left padding give DynamicLayer's tensors."""
    growable, dynamic = growable_layer_class()(), DynamicLayer()
    generator = torch.Generator().manual_seed(0)
    steps = [5] + [1] * (growable_layer_class().GROW + 3)  # a prefill, then decoding steps that outgrow the room
    rows = 3
    for i, n in enumerate(steps):
        keys = torch.randn(rows, 2, n, 4, generator=generator)
        values = torch.randn(rows, 2, n, 6, generator=generator)  # value heads may be wider than key heads
        got, want = growable.update(keys, values), dynamic.update(keys, values)
        assert all(torch.equal(g, w) for g, w in zip(got, want))
        if i == 100:  # a row leaves, then the batch is padded on the left for a longer newcomer
            rows = 2
            for layer in (growable, dynamic):
                layer.batch_select_indices(torch.tensor([0, 2]))
            pad_left(type("Cache", (), {"layers": [growable]})(), 7)
            dynamic.keys = torch.nn.functional.pad(dynamic.keys, (0, 0, 7, 0))
            dynamic.values = torch.nn.functional.pad(dynamic.values, (0, 0, 7, 0))
    assert growable.get_seq_length() == dynamic.get_seq_length() == sum(steps) + 7
    assert torch.equal(growable.keys, dynamic.keys) and torch.equal(growable.values, dynamic.values)


def test_rows_of_a_cache_are_padded_joined_selected_and_cropped():
    generator = torch.Generator().manual_seed(1)
    a, b = new_cache(), new_cache()
    a.update(torch.randn(1, 2, 5, 4, generator=generator), torch.randn(1, 2, 5, 4, generator=generator), 0)
    b.update(torch.randn(1, 2, 3, 4, generator=generator), torch.randn(1, 2, 3, 4, generator=generator), 0)
    assert isinstance(a.layers[0], growable_layer_class())
    first, second = a.layers[0].keys.clone(), b.layers[0].keys.clone()
    pad_left(b, 2)  # the shorter row padded on the left to the batch's length
    join_rows(a, b)
    assert a.layers[0].keys.shape == (2, 2, 5, 4)
    assert torch.equal(a.layers[0].keys[1, :, 2:], second[0]) and not a.layers[0].keys[1, :, :2].any()
    select_rows(a, torch.tensor([1]))
    crop_left(a, 2)  # the columns that are padding in every remaining row
    assert torch.equal(a.layers[0].keys, second)
    assert not torch.equal(first[0, :, 2:], second[0])


def test_a_sliding_window_shorter_than_the_sequences_makes_rows_not_editable():
    config = LlamaConfig(hidden_size=8, intermediate_size=16, num_hidden_layers=2, num_attention_heads=2,
                         num_key_value_heads=2, vocab_size=32)
    model = type("Model", (), {"config": config})()
    assert rows_editable(model, 10_000)  # every layer global
    config.sliding_window, config.layer_types = 64, ["sliding_attention", "full_attention"]
    assert isinstance(DynamicCache(config=config).layers[0], DynamicLayer)
    assert rows_editable(model, 64) is False and rows_editable(model, 63)
