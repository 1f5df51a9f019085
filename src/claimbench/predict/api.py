"""The api configuration (the paper's GPT-4o row): an OpenAI-compatible chat endpoint, off by default.

Sending operative notes to a remote service is the one step of the pipeline that lets data leave the machine, so it
is refused unless the config enables it explicitly, names an endpoint, and, for data the pipeline did not generate
itself (``data.source`` other than "synthetic"), also sets ``acknowledge_notes_leave_machine: true``. The refusal is
checked before anything is sent, by the client itself; a refused run writes an empty prediction file and a meta file
with ``run: false`` and the reason, which the report shows.

The API key is read from the environment variable named in config (never from config itself).
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Callable, Mapping


def refusal_reason(settings: Mapping, data_source: str) -> str | None:
    """Why the api configuration must not send anything, or None when it may."""
    if not settings.get("enabled", False):
        return ("disabled in config (configurations.api.enabled: false), so no operative note was sent anywhere; "
                "enable it and set an endpoint to run it")
    if not settings.get("endpoint"):
        return "no endpoint configured (configurations.api.endpoint is empty)"
    if data_source != "synthetic" and settings.get("acknowledge_notes_leave_machine") is not True:
        return (f"data.source is {data_source!r}, not data the pipeline generated: sending its operative notes to "
                f"{settings['endpoint']} needs configurations.api.acknowledge_notes_leave_machine: true")
    return None


class ApiRefused(RuntimeError):
    pass


class ChatClient:
    """POST {endpoint}/chat/completions, greedy (temperature 0) unless a subclass sets one, one note at a time."""

    temperature = 0.0

    def __init__(self, settings: Mapping, data_source: str, opener: Callable = urllib.request.urlopen):
        reason = refusal_reason(settings, data_source)
        if reason:
            raise ApiRefused(reason)
        self.url = str(settings["endpoint"]).rstrip("/") + "/chat/completions"
        self.model = settings.get("model_name") or "gpt-4o"
        self.max_tokens = int(settings.get("max_new_tokens", 512))
        self.timeout = float(settings.get("timeout_s", 120))
        key_env = settings.get("api_key_env") or "OPENAI_API_KEY"
        self.api_key = os.environ.get(key_env)
        self.opener = opener

    def complete(self, messages: list[dict]) -> tuple[str, dict]:
        """(generated text, usage dict) for one conversation."""
        body = json.dumps({"model": self.model, "messages": messages, "temperature": self.temperature,
                           "max_tokens": self.max_tokens}).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        with self.opener(request, timeout=self.timeout) as response:
            payload = json.loads(response.read().decode("utf-8"))
        text = payload["choices"][0]["message"].get("content") or ""
        return text, payload.get("usage") or {}
