"""Reading an extract: bytes to (row number, raw record) pairs, for JSONL, Parquet and CSV.

Text files are UTF-8; a byte-order mark (Windows exports) is honoured, and UTF-16/32 with a byte-order mark is read.
A file that cannot be read at all (unknown format, missing column, not text, no records) raises ``ExtractError`` with
one line naming the file, row and field, or saying what the file is (e.g. gzip-compressed data named ``.jsonl``).
Undecodable rows come back as records holding the decoding problem, for validation to reject
(claimbench.data.contract).

Row numbers are 1-based data rows: the line number for JSONL, the row after the header for CSV, the row index + 1
for Parquet. CSV list fields: ``icd10`` is ``;``-separated; ``cpt_lines`` is either a JSON array or ``;``-separated
lines of ``provider | cpt | modifiers (comma-separated) | description``; ``icd10_evidence`` is a JSON array.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path

import filetype
import pyarrow.parquet as pq

from claimbench.data.contract import REQUIRED_FIELDS, has_surrogates


class ExtractError(ValueError):
    """A file-level problem: the extract cannot be read as a whole."""


def read_raw(path: str | Path, required: tuple[str, ...] = REQUIRED_FIELDS) -> list[tuple[int, dict]]:
    """(row number, raw record) pairs. Undecodable rows come back as records holding the decoding problem.
    ``required``: the columns a CSV or Parquet file must have (an extract's, or a new note's: NOTE_FIELDS)."""
    path = Path(path)
    if not path.exists():
        raise ExtractError(f"{path}: file not found")
    suffix = "".join(path.suffixes[-2:]) if path.suffix == ".gz" else path.suffix
    readers = {".jsonl": _read_jsonl, ".ndjson": _read_jsonl, ".parquet": _read_parquet, ".csv": _read_csv}
    if suffix not in readers:
        raise ExtractError(f"{path}: unknown extract format {suffix!r}; expected .jsonl, .parquet or .csv")
    rows = readers[suffix](path, required)
    if not rows:
        raise ExtractError(f"{path}: no records (the file holds no data rows)")
    return rows


# byte-order marks -> codec; UTF-32 first, since its little-endian mark begins with UTF-16's
BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
PARQUET_MAGIC = b"PAR1"


def _text_encoding(path: Path, kind: str) -> str:
    """The codec of an extract that must be text, or one ExtractError saying what the file is instead."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    if not head.strip() and len(head) < 1 << 16:  # a longer blank start is read on, and found empty or not
        raise ExtractError(f"{path}: empty file (no records)")
    for bom, codec in BOMS:
        if head.startswith(bom):
            return codec
    guess = filetype.guess(head)
    if guess is not None:
        raise ExtractError(f"{path}: is a .{guess.extension} file ({guess.mime}), not {kind} text; "
                           f"save the extract as plain UTF-8 {kind}")
    if head.startswith(PARQUET_MAGIC) and _tail(path, len(PARQUET_MAGIC)) == PARQUET_MAGIC:
        raise ExtractError(f"{path}: is a Parquet file, not {kind} text; name it .parquet")
    if head.count(b"\x00") * 10 > len(head):  # every other byte, or three in four: UTF-16/32 without its mark
        raise ExtractError(f"{path}: holds NUL bytes in bulk: UTF-16/32 text without a byte-order mark, or binary "
                           f"data, not {kind} text; save the extract as plain UTF-8 {kind}")
    return "utf-8"


def _tail(path: Path, size: int) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - size))
        return handle.read()


def _binary(path: Path) -> bool:
    """Whether the file's first block holds NUL bytes or bytes that are not UTF-8: asked only once the file has failed
    to read as its format, so that a damaged line among good ones is rejected alone, not the whole file."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 4  # not merely a character cut at the end of the block
    return b"\x00" in head


def _utf8_lines(path: Path, codec: str) -> Iterable[bytes]:
    """The file's lines as UTF-8 bytes: streamed when it is UTF-8 (BOM dropped), else decoded whole (UTF-16/32)."""
    if codec in ("utf-8", "utf-8-sig"):
        with open(path, "rb") as handle:
            for number, line in enumerate(handle):
                yield line[len(codecs.BOM_UTF8):] if number == 0 and codec == "utf-8-sig" else line
        return
    try:
        text = path.read_bytes().decode(codec)
    except UnicodeDecodeError as exc:
        raise ExtractError(f"{path}: starts with a {codec.upper()} byte-order mark but is not valid {codec.upper()} "
                           f"(byte {exc.start})") from None
    yield from io.BytesIO(text.encode("utf-8", "surrogatepass"))


def _read_jsonl(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict]]:
    rows, objects = [], 0
    for number, raw in enumerate(_utf8_lines(path, _text_encoding(path, "JSONL")), start=1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            rows.append((number, {"__error__": ("<line>", f"not valid UTF-8 at byte {exc.start}"), "__raw__": raw.decode("utf-8", "replace")}))
            continue
        try:
            value = json.loads(text, object_pairs_hook=_no_duplicate_keys)
        except DuplicateKey as exc:
            rows.append((number, {"__error__": (exc.key, "the field appears more than once in the record"), "__raw__": text}))
            continue
        except json.JSONDecodeError as exc:
            # exc.msg may end in "at" ("Invalid control character at"), so the position goes in its own clause
            rows.append((number, {"__error__": ("<line>", f"not valid JSON: {exc.msg} (column {exc.colno})"), "__raw__": text}))
            continue
        if not isinstance(value, dict):
            rows.append((number, {"__error__": ("<line>", "a JSON object was expected"), "__raw__": text}))
            continue
        objects += 1
        rows.append((number, value))
    if rows and not objects:  # not one record: the file is not JSONL at all (e.g. a CSV, random bytes)
        number, first = rows[0]
        what = "binary data, not JSONL text" if _binary(path) else "is it a JSONL file?"
        raise ExtractError(f"{path} row {number}: no line is a JSON object (first: {first['__error__'][1]}); {what}")
    return rows


class DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    """json's object hook: a repeated key would silently keep its last value, so it is refused."""
    out = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKey(key)
        out[key] = value
    return out


def _read_parquet(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict]]:
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for damaged files
        with open(path, "rb") as handle:
            guess = filetype.guess(handle.read(1 << 16))
        what = f"a .{guess.extension} file ({guess.mime}), " if guess else ""
        raise ExtractError(f"{path}: is {what}not a readable Parquet file ({type(exc).__name__}: {exc})") from None
    _require_columns(path, table.column_names, required)
    return list(enumerate(table.to_pylist(), start=1))  # nested list columns arrive as plain lists and dicts


# csv's default field limit (131,072 characters) would fail a whole file on one long note; the note limit is
# validation's job (Contract.max_note_chars), where it rejects one record
CSV_FIELD_LIMIT = 2**31 - 1


def _read_csv(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict]]:
    codec = _text_encoding(path, "CSV")
    data = path.read_bytes()
    try:
        # surrogateescape keeps undecodable bytes visible so the row and field can be named instead of failing the file
        text = data.decode(codec, errors="surrogateescape" if codec.startswith("utf-8") else "strict")
    except UnicodeDecodeError as exc:
        raise ExtractError(f"{path}: starts with a {codec.upper()} byte-order mark but is not valid {codec.upper()} "
                           f"(byte {exc.start})") from None
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        what = "binary data, not CSV text" if _binary(path) else f"not readable as CSV ({exc})"
        raise ExtractError(f"{path} row 0 (header): {what}") from None
    reader.fieldnames = [name.strip() for name in header]  # "encounter_id, surgery_date" is still the contract
    if not set(required) & set(reader.fieldnames) and _binary(path):
        raise ExtractError(f"{path} row 0 (header): binary data, not CSV text; save the extract as plain UTF-8 CSV")
    _require_columns(path, reader.fieldnames, required)
    rows = []
    number = 0
    try:
        for number, row in enumerate(reader, start=1):
            if None in row:  # more cells than header columns: csv keeps the surplus under the key None
                extra = row.pop(None)
                rows.append((number, {**_clean_surrogates(row), "__extra_cells__": extra,
                                      "__error__": ("<row>", f"{len(extra)} more cell(s) than the header has columns")}))
                continue
            bad = next((k for k, v in row.items() if isinstance(v, str) and has_surrogates(v)), None)
            if bad:
                rows.append((number, {**_clean_surrogates(row), "__error__": (bad, "not valid UTF-8 text")}))
                continue
            rows.append((number, _parse_csv_lists(row)))
    except csv.Error as exc:
        raise ExtractError(f"{path} row {number + 1}: not readable as CSV ({exc})") from None
    return rows


# undecodable bytes, as Python's surrogateescape error handler represents them
def _clean_surrogates(row: dict) -> dict:
    return {k: v.encode("utf-8", "surrogateescape").decode("utf-8", "replace") if isinstance(v, str) else v for k, v in row.items()}


def _parse_csv_lists(row: dict) -> dict:
    out = dict(row)
    evidence = row.get("icd10_evidence")
    if isinstance(evidence, str):  # optional column: a JSON array, or empty
        try:
            out["icd10_evidence"] = json.loads(evidence) if evidence.strip() else None
        except json.JSONDecodeError as exc:
            out["__error__"] = ("icd10_evidence", f"not a valid JSON array ({exc.msg})")
    icd = row.get("icd10")
    if isinstance(icd, str):
        out["icd10"] = [c.strip() for c in icd.split(";") if c.strip()]
    lines = row.get("cpt_lines")
    if isinstance(lines, str):
        stripped = lines.strip()
        if stripped.startswith("["):
            try:
                out["cpt_lines"] = json.loads(stripped)
            except json.JSONDecodeError as exc:
                out["__error__"] = ("cpt_lines", f"not a valid JSON array ({exc.msg})")
        else:
            parsed = []
            for chunk in filter(None, (c.strip() for c in stripped.split(";"))):
                parts = [p.strip() for p in chunk.split("|")]
                if len(parts) < 2:
                    parsed.append(chunk)  # rejected by validation with its text
                    continue
                mods = [m.strip() for m in parts[2].split(",") if m.strip()] if len(parts) > 2 else []
                parsed.append({"provider": parts[0], "cpt": parts[1], "modifiers": mods,
                               "description": parts[3] if len(parts) > 3 else ""})
            out["cpt_lines"] = parsed
    return out


def _require_columns(path, columns, required: tuple[str, ...]) -> None:
    missing = [name for name in required if name not in set(columns)]
    if missing:
        hint = ""
        if len(columns) == 1 and (separator := next((s for s in ";\t|" if s in columns[0]), None)):
            hint = f"; the header is separated by {separator!r}: the CSV separator must be ','"
        raise ExtractError(f"{path} row 0 (header): field '{missing[0]}': required column missing "
                           f"(all missing: {missing}){hint}")
