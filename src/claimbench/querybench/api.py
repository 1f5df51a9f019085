"""The api configuration in the query benchmark: the predict stage's OpenAI-compatible client, at a temperature.

Only code descriptions are sent (public code-set text, no patient data), through the same refusal guard as the main
study: nothing leaves the machine unless ``configurations.api`` is enabled and names an endpoint. A refused run
writes an empty response file and a meta file with ``run: false`` and the reason, which the report shows.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable, Mapping

import pandas as pd

from claimbench.predict.api import ChatClient, refusal_reason
from claimbench.querybench.prompt import query_prompt
from claimbench.querybench.systems import SYSTEMS


class SampledChatClient(ChatClient):
    """``ChatClient`` with the sampling temperature the paper's sweep needs (the predict stage's client is greedy)."""

    def __init__(self, settings: Mapping, temperature: float, max_tokens: int, opener: Callable = urllib.request.urlopen):
        # the query benchmark sends code descriptions only, never notes: the "synthetic" data rule applies
        super().__init__(settings, "synthetic", opener=opener)
        self.temperature = float(temperature)
        self.max_tokens = int(max_tokens)


def api_refusal(settings: Mapping) -> str | None:
    return refusal_reason(settings, "synthetic")


def query_api(client: ChatClient, sample: pd.DataFrame, system_key: str) -> pd.DataFrame:
    """One chat completion per sample row; a failed call is recorded as an empty response (scored as wrong)."""
    system = SYSTEMS[system_key]
    rows = []
    for description in sample["description"]:
        began = time.perf_counter()
        try:
            text, usage = client.complete([{"role": "user", "content": query_prompt(system, description)}])
            error = None
        except Exception as exc:  # noqa: BLE001 - a network or server error must not stop the run
            text, usage, error = "", {}, f"{type(exc).__name__}: {exc}"
        rows.append({"response": text, "n_prompt_tokens": usage.get("prompt_tokens"),
                     "n_new_tokens": usage.get("completion_tokens") or 0,
                     "seconds": time.perf_counter() - began, "error": error})
    return pd.concat([sample.reset_index(drop=True), pd.DataFrame(rows)], axis=1)
