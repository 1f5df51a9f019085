"""Shared by the ingestion tests: an extract written as JSONL, and the check that one bad record is rejected."""

import json

from claimbench.data.ingest import ingest


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def reject_second(tmp_path, good: dict, change: dict, field: str, reason: str):
    """Ingest ``good`` then ``good`` with ``change`` (id E2): only E2 is rejected, at row 2 and ``field``, for
    ``reason``, and its one-line message names the file, row and field. Returns the ingest result."""
    path = write_jsonl(tmp_path / "x.jsonl", [good, {**good, "encounter_id": "E2", **change}])
    result = ingest(path)
    assert [r["encounter_id"] for r in result.records] == [good["encounter_id"]]
    (rejection,) = result.rejections
    assert (rejection.row, rejection.field) == (2, field) and reason in rejection.reason
    message = rejection.message(path)
    assert str(path) in message and "row 2" in message and f"'{field}'" in message and "E2" in message
    return result
