"""The JSON task's prompt (paper 002, Figure 4B: system prompt, instruction, output format), as chat messages.

The field list and the example shape are generated from the claim's JSON Schema (``schema.json_schema``), so the
prompt names exactly the fields the parser accepts. The note is shown with 0-based line numbers ("[0] ...") so the
evidence can cite lines; the texts live in ``prompts.yaml`` under ``paper002``. Render the messages with the existing
chat machinery (``claimbench.prompts._chat``) for any model family.
"""

from __future__ import annotations

import json
from functools import lru_cache

from claimbench.paper002.schema import SEPARATORS, gold_claim, json_schema, render
from claimbench.prompts import templates

# Placeholder values of the example shape, by JSON type: clearly not real codes, so a model has nothing to copy.
_PLACEHOLDER = {"string": "...", "integer": 0, "number": 0, "boolean": False}


def _texts() -> dict:
    return templates()["paper002"]


def _resolve(node: dict, defs: dict) -> dict:
    """A schema node with its ``$ref`` (pydantic writes nested models as ``#/$defs/Name``) followed."""
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _walk(node: dict, defs: dict, path: str, fields: list[str]):
    """The placeholder value of ``node``; appends "- path: description" for every named field below it."""
    node = _resolve(node, defs)
    kind = node.get("type")
    if kind == "object":
        shape = {}
        for name, child in node.get("properties", {}).items():
            child_path = f"{path}.{name}" if path else name
            described = _resolve(child, defs)
            fields.append(f"- {child_path} ({described.get('type', 'value')}): {described.get('description', '')}")
            shape[name] = _walk(child, defs, child_path, fields)
        return shape
    if kind == "array":
        return [_walk(node["items"], defs, f"{path}[]", fields)]
    return _PLACEHOLDER.get(kind, "...")


@lru_cache(maxsize=1)
def schema_text() -> tuple[str, str]:
    """(field list, example shape) of the claim schema, as the system prompt shows them."""
    schema = json_schema()
    fields: list[str] = []
    shape = _walk(schema, schema.get("$defs", {}), "", fields)
    return "\n".join(fields), json.dumps(shape, separators=SEPARATORS)


def system_text() -> str:
    t = _texts()
    fields, shape = schema_text()
    return t["system"].format(intro=t["intro"], fields=fields, shape=shape)


def numbered_note(op_note: str) -> str:
    """The note with each line of ``op_note.split("\\n")`` prefixed by its index: the line numbers evidence cites."""
    line = _texts()["line"]
    return "\n".join(line.format(index=i, text=text) for i, text in enumerate(op_note.split("\n")))


def messages(op_note: str) -> list[dict]:
    """System + user messages for one note (what the model sees at inference)."""
    return [
        {"role": "system", "content": system_text()},
        {"role": "user", "content": _texts()["user"].format(note=numbered_note(op_note))},
    ]


def training_messages(record: dict) -> list[dict]:
    """The conversation of a training sample: ``messages`` + the gold claim (``render``) as the assistant turn."""
    return messages(record["op_note"]) + [{"role": "assistant", "content": render(gold_claim(record))}]
