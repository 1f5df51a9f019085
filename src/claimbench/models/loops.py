"""Verbatim loops in generated tokens (config ``loop_stop_tokens``, beyond the paper): a greedy model that repeats one
unit keeps repeating it, so generation may stop at the loop and write its repeats out up to the cap
(experiments/loop_stop_validation.py checks that the answers are unchanged)."""

from __future__ import annotations


def loop_period(tokens: list[int], window: int) -> int:
    """The shortest unit length p <= window // 4 whose verbatim repeats fill the last ``window`` tokens, else 0."""
    if window <= 0 or len(tokens) < window:
        return 0
    tail = tokens[-window:]
    return next((p for p in range(1, window // 4 + 1) if all(tail[i] == tail[i + p] for i in range(window - p))), 0)


def repeat_unit(tokens: list[int], period: int, max_new_tokens: int) -> list[int]:
    """``tokens`` continued with their last ``period`` tokens, repeated in phase, up to ``max_new_tokens``."""
    out = list(tokens)
    while len(out) < max_new_tokens:
        out.append(out[-period])
    return out


def write_out_loop(tokens: list[int], window: int, max_new_tokens: int) -> tuple[list[int], bool]:
    """``tokens`` cut where a verbatim loop first fills ``window`` tokens and its unit repeated from there up to
    ``max_new_tokens``: what greedy decoding gives if the model stays in the loop. Unchanged when no loop is found.
    For a finished row of ``model.generate``, whose tokens after the stop are padding."""
    for n in range(window, len(tokens) + 1) if window > 0 else ():
        period = loop_period(tokens[:n], window)
        if period:
            return repeat_unit(tokens[:n], period, max_new_tokens), True
    return list(tokens), False


class VerbatimLoopStop:
    """``model.generate`` stopping criterion (static batches): a row stops once its new tokens end in a verbatim
    loop (``loop_period``); ``write_out_loop`` then cuts its padding and writes the loop out to the cap."""

    def __init__(self, prompt_width: int, window: int):
        self.prompt_width, self.window = prompt_width, window

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        # only the last window of new tokens can hold a loop that loop_period finds
        new = input_ids[:, max(self.prompt_width, input_ids.shape[1] - self.window):].tolist()
        return torch.tensor([loop_period(row, self.window) > 0 for row in new], dtype=torch.bool,
                            device=input_ids.device)
