"""Extract the codes from a generated claim: ICD-10-CM codes, and CPT lines with their modifiers.

Paper 000 (Evaluation): "Codes were extracted from the output using regular expressions. If the codes were unable
to be extracted due to formatting discrepancies, they were considered wrong." The parser reads the claim formats the
paper's prompts ask for and the model variations seen in practice, line by line:

- Sections. An ICD-10-CM heading ("ICD-10-CM Diagnoses:", "ICD-10 Codes:", "ICD10:", "Diagnoses:") opens the ICD
  section; a CPT heading ("CPT Codes with Modifiers:", "CPT Codes:", "CPT:", "Procedure Codes:") or a provider block
  ("Provider Name: ...", "Provider Billables:") opens the CPT section. The paper's Phi-3 segment tokens
  (``<|placeholder2|>`` ...) and other ``<|...|>`` chat tokens are removed first; Markdown emphasis, bullets and
  heading marks are ignored.
- ICD-10-CM codes are taken only inside an ICD section, CPT lines only inside a CPT section or from an explicit
  numbered line ("CPT 1:", "CPT Code 2:", "CPT #3:") anywhere. Code-shaped text elsewhere (prose, an echoed operative
  note) is not a code: a claim whose codes cannot be found in its format yields no codes and so scores as wrong.
- A CPT line is: the first CPT-shaped token of the line (4 digits + digit or letter, e.g. 66984, 0191T, 3072F), its
  modifiers from a "Modifiers: RT, 59" field (up to the next "|") and/or dash suffixes ("66984-RT-59"), and the
  provider of the enclosing "Provider Name:" block. Other lines of the CPT section count only when they start with a
  code (after a bullet or "1."): a wrapped description with a number in it is not a CPT line. Such a line without a
  "Modifiers:" field may hold a list ("66984-RT, 67028-LT"): each code is a line. A Markdown table row in the CPT
  section ("| 66984 | RT, 59 | ... |") is a CPT line: its first code cell, and the first later cell that is a
  modifier list. A "Modifiers:" line right after a CPT line that had none continues it
  (the paper's printed template wraps there).

Normalisation is what a coder would do when reading a code, and nothing more: upper case, surrounding whitespace, the
ICD-10-CM dot (``h2511`` -> ``H25.11``; a trailing dot dropped). Tokens must have the shape of a code to count
(ICD-10-CM: letter, digit, alphanumeric, then at most 4 more; CPT: five characters; modifier: two): a malformed token
such as ``H25.11234`` or ``669841`` is not a code, and nothing is ever truncated, padded or looked up to "fix" a code
into a valid one. Whether a well-shaped code exists is the validity check's job (``validity.py``), not the parser's.

``parse_claim`` never raises: any input (``None``, bytes, random or adversarial text) gives a ``ParsedClaim``, empty
when nothing could be read. All patterns are linear-time (no nested unbounded repetition), so hostile input cannot
make the parser hang.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# <|placeholder2|>, <|end|>, <|im_end|>, <s>, </s>, <end_of_turn>, <eos> ...: chat/segment tokens, not claim text
# (generations are decoded with special tokens kept).
SPECIAL_TOKEN = re.compile(r"<\|[^<>|\n]{0,64}\|>|</?s>|<(?:start|end)_of_turn>|<(?:eos|bos|pad|unk)>")

# Leading clutter a model puts before a line's content: bullets, Markdown heading/emphasis marks, quote marks.
# One symbol per repetition keeps the pattern unambiguous (``[-*]+`` inside ``*`` would backtrack exponentially).
# A list number ("1.", "2)") may follow.
_LEAD = r"[ \t]*(?:[-*•>#][ \t]*)*(?:\d{1,3}[.)][ \t]+)?(?:\*\*|__)?[ \t]*"
# "(ICD-10-CM)" / "(CPT)" after a heading's words: "Diagnosis Codes (ICD-10-CM):"
_SYSTEM_NOTE = r"(?:[ \t]*\((?:ICD[ \t-]?10(?:[ \t-]?CM)?|CPT)\))?"

ICD_HEADING = re.compile(
    _LEAD + r"(?:ICD[ \t-]?10(?:[ \t-]?CM)?(?![0-9A-Za-z])|Diagnos[ie]s(?![A-Za-z]))"
    r"(?:[ \t]+[A-Za-z][A-Za-z \t/&-]{0,40}?)?" + _SYSTEM_NOTE + r"[ \t]*(?:\*\*|__)?[ \t]*(?::|$)",
    re.IGNORECASE,
)
# Not a bare "Procedure:" (an echoed operative note has one); words after the heading hold no digits, so that
# "CPT code 66984: ..." is read as a CPT line rather than a heading.
CPT_HEADING = re.compile(
    _LEAD + r"(?:CPT|Procedure[ \t]+Codes?)(?![0-9A-Za-z])"
    r"(?:[ \t]+[A-Za-z][A-Za-z \t/&-]{0,40}?)?" + _SYSTEM_NOTE + r"[ \t]*(?:\*\*|__)?[ \t]*(?::|$)",
    re.IGNORECASE,
)
# "CPT 66984 ...", "CPT code: 66984-RT", "CPT #66984": a CPT line named as such, in any section
EXPLICIT_CPT_LINE = re.compile(
    _LEAD + r"CPT(?:[ \t]*Codes?)?[ \t]*(?:\*\*|__)?[ \t]*[:#]?[ \t]*(?:\*\*|__)?[ \t]*"
    r"(?=[0-9]{4}[0-9A-Za-z](?![0-9A-Za-z]))",
    re.IGNORECASE,
)
# "CPT 1:", "CPT Code 2 -", "CPT #3)", "**CPT Code 1:**"
NUMBERED_CPT_LINE = re.compile(
    _LEAD + r"CPT(?:[ \t]*Codes?)?[ \t]*#?[ \t]*\d{1,3}[ \t]*(?:\*\*|__)?[ \t]*[:.)\-][ \t]*(?:\*\*|__)?",
    re.IGNORECASE,
)
PROVIDER_NAME = re.compile(_LEAD + r"Provider(?:[ \t]+Name)?[ \t]*(?:\*\*|__)?[ \t]*:[ \t]*(?P<name>.*)$", re.I)
PROVIDER_BILLABLES = re.compile(_LEAD + r"Provider[ \t]+Billables?\b", re.IGNORECASE)
MODIFIER_FIELD = re.compile(r"Modifiers?[ \t]*(?:\*\*|__)?[ \t]*:(?P<mods>[^|\n]*)", re.IGNORECASE)
MODIFIER_CONTINUATION = re.compile(r"[ \t|]*Modifiers?[ \t]*(?:\*\*|__)?[ \t]*:", re.IGNORECASE)
DESCRIPTION_FIELD = re.compile(r"\bDescriptions?[ \t]*:", re.IGNORECASE)

# A whole alphanumeric token, dots inside allowed: codes are judged as whole tokens, so a malformed token is never
# cut down to a well-formed prefix.
TOKEN = re.compile(r"[0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*")
ICD10_SHAPE = re.compile(r"[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?")
CPT_SHAPE = re.compile(r"[0-9]{4}[0-9A-Z]")
MODIFIER_SHAPE = re.compile(r"[0-9A-Z]{2}")
# A CPT token and its dash-suffixed modifiers ("66984-RT-59", "66984 - RT").
CPT_WITH_SUFFIX = re.compile(
    r"(?<![0-9A-Za-z.])(?P<code>[0-9]{4}[0-9A-Za-z])(?![0-9A-Za-z]|\.[0-9A-Za-z])"
    r"(?P<suffix>(?:[ \t]*-[ \t]*[0-9A-Za-z]{2}(?![0-9A-Za-z]))*)"
)
# An unlabelled line in the CPT section is a CPT line only when it starts with the code ("66984-RT: ...",
# "2. 67028 | Modifiers: LT", "- (0191T)"); other lines there are descriptions or prose, numbers in them are not codes.
STARTS_WITH_CPT = re.compile(
    _LEAD + r"[(\[]?[ \t]*(?=[0-9]{4}[0-9A-Za-z](?![0-9A-Za-z]|\.[0-9A-Za-z]))"
)
# A Markdown table row ("| 66984 | RT, 59 | Cataract removal |"); the separator row has no code and is skipped.
TABLE_ROW = re.compile(r"[ \t]*\|")
MODIFIER_CELL = re.compile(r"(?:[0-9A-Za-z]{2}(?:[ \t]*[,;/][ \t]*|[ \t]+|$))+|[-–—]|none|n/?a", re.IGNORECASE)
# Two-letter English words a model writes in a modifier field ("no modifiers", "as needed"), recognised only when
# written in lower case: an upper-case AS or NO is taken as written (AS is a real modifier).
_LOWERCASE_WORDS = frozenset(
    "an as at be by do go he if in is it me my no of on or so to up us we na".split()
)


@dataclass(frozen=True)
class ParsedLine:
    """One CPT line read from generated text."""

    cpt: str
    modifiers: tuple[str, ...] = ()
    provider: str = ""


@dataclass(frozen=True)
class ParsedClaim:
    """What could be read from one generated claim. Codes keep the generated order, duplicates included."""

    icd10: tuple[str, ...] = ()
    cpt_lines: tuple[ParsedLine, ...] = ()
    has_icd_section: bool = False
    has_cpt_section: bool = False

    @property
    def cpt_codes(self) -> tuple[str, ...]:
        return tuple(line.cpt for line in self.cpt_lines)


@dataclass
class _Builder:
    icd10: list[str] = field(default_factory=list)
    lines: list[ParsedLine] = field(default_factory=list)
    has_icd: bool = False
    has_cpt: bool = False
    section: str | None = None
    provider: str = ""
    # index in ``lines`` of the last CPT line written without a Modifiers field (a wrapped field may follow)
    open_line: int | None = None


def normalize_icd10(token: str) -> str | None:
    """A coder's reading of an ICD-10-CM token: upper case, dot after the category. None if not code-shaped."""
    code = token.strip().upper().rstrip(".")
    if not ICD10_SHAPE.fullmatch(code):
        return None
    if len(code) > 3 and "." not in code:
        code = f"{code[:3]}.{code[3:]}"
    return code


def normalize_cpt(token: str) -> str | None:
    code = token.strip().upper()
    return code if CPT_SHAPE.fullmatch(code) else None


def normalize_modifier(token: str) -> str | None:
    raw = token.strip()
    if raw.islower() and raw in _LOWERCASE_WORDS:
        return None
    code = raw.upper()
    return code if MODIFIER_SHAPE.fullmatch(code) else None


def _to_text(text: object) -> str:
    if text is None:
        return ""
    if isinstance(text, bytes):
        return text.decode("utf-8", errors="replace")
    if isinstance(text, float) and text != text:  # NaN from a pandas column with a missing value
        return ""
    return text if isinstance(text, str) else str(text)


def _icd_codes(text: str) -> list[str]:
    return [code for token in TOKEN.findall(text) if (code := normalize_icd10(token))]


def _modifier_field(text: str) -> list[str]:
    text = re.sub(r"\([^()\n]{0,200}\)", " ", text)  # remarks: "RT (right eye)"
    return [
        mod for token in re.split(r"[\s,;/+&|:()\[\]*-]+", text) if token and (mod := normalize_modifier(token))
    ]


def _suffix_modifiers(suffix: str) -> list[str]:
    return [mod for token in suffix.split("-") if (mod := normalize_modifier(token))]


def _dedupe(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _cpt_line(state: _Builder, body: str, numbered: bool) -> None:
    """Read one CPT line (or, without a Modifiers field, a list of codes) from ``body``."""
    field_match = MODIFIER_FIELD.search(body)
    head = body[: field_match.start()] if field_match else body
    description = DESCRIPTION_FIELD.search(head)
    if description:
        head = head[: description.start()]
    head = head.split("|", 1)[0]
    matches = list(CPT_WITH_SUFFIX.finditer(head))
    if not matches:
        return
    if field_match or numbered:
        matches = matches[:1]  # "CPT 1: 66984 ..." is one line: later numbers belong to its description
    for match in matches:
        code = normalize_cpt(match.group("code"))
        if code is None:  # unreachable given CPT_WITH_SUFFIX, kept so a pattern change cannot yield a bad code
            continue
        mods = _suffix_modifiers(match.group("suffix"))
        if field_match and match is matches[0]:
            mods += _modifier_field(field_match.group("mods"))
        state.lines.append(ParsedLine(cpt=code, modifiers=_dedupe(mods), provider=state.provider))
    state.open_line = None if field_match else len(state.lines) - 1


def _table_row(state: _Builder, line: str) -> None:
    """A CPT table row: the first cell holding a CPT code, its dash suffixes, and the first later cell that is a
    modifier list ("RT, 59", "-", "None"). Rows without a code (header, separator) are skipped."""
    cells = [cell.strip().strip("*_").strip() for cell in line.strip().strip("|").split("|")]
    for position, cell in enumerate(cells):
        match = CPT_WITH_SUFFIX.fullmatch(cell)
        if match:
            mods = _suffix_modifiers(match.group("suffix"))
            for later in cells[position + 1 :]:
                if later and MODIFIER_CELL.fullmatch(later):
                    mods += _modifier_field(later)
                    break
            state.lines.append(ParsedLine(normalize_cpt(match.group("code")) or "", _dedupe(mods), state.provider))
            state.open_line = None
            return


def _line(state: _Builder, line: str) -> None:
    if PROVIDER_BILLABLES.match(line):
        state.section, state.has_cpt, state.open_line = "cpt", True, None
        return
    provider = PROVIDER_NAME.match(line)
    if provider:
        state.section, state.has_cpt, state.open_line = "cpt", True, None
        state.provider = provider.group("name").strip().strip("*_").strip()
        return
    numbered = NUMBERED_CPT_LINE.match(line)
    if numbered:
        state.section, state.has_cpt = "cpt", True
        _cpt_line(state, line[numbered.end():], numbered=True)
        return
    explicit = EXPLICIT_CPT_LINE.match(line)
    if explicit:
        state.section, state.has_cpt = "cpt", True
        _cpt_line(state, line[explicit.end():], numbered=False)
        return
    heading = ICD_HEADING.match(line)
    if heading:
        state.section, state.has_icd, state.open_line = "icd", True, None
        state.icd10.extend(_icd_codes(line[heading.end():]))
        return
    heading = CPT_HEADING.match(line)
    if heading:
        state.section, state.has_cpt, state.open_line = "cpt", True, None
        rest = line[heading.end():]
        if STARTS_WITH_CPT.match(rest):
            _cpt_line(state, rest, numbered=False)
        return
    if state.section == "icd":
        state.icd10.extend(_icd_codes(line))
    elif state.section == "cpt":
        continuation = MODIFIER_CONTINUATION.match(line)
        if continuation and state.open_line is not None:
            previous = state.lines[state.open_line]
            mods = _modifier_field(MODIFIER_FIELD.search(line).group("mods"))
            state.lines[state.open_line] = ParsedLine(
                previous.cpt, _dedupe([*previous.modifiers, *mods]), previous.provider
            )
            state.open_line = None
        elif STARTS_WITH_CPT.match(line):
            _cpt_line(state, line, numbered=False)
        elif TABLE_ROW.match(line):
            _table_row(state, line)


def parse_claim(text: object) -> ParsedClaim:
    """Read the ICD-10-CM codes and CPT lines of one generated claim. Never raises; see the module docstring."""
    try:
        state = _Builder()
        for line in SPECIAL_TOKEN.sub("\n", _to_text(text)).splitlines():
            _line(state, line)
        return ParsedClaim(
            icd10=tuple(state.icd10),
            cpt_lines=tuple(state.lines),
            has_icd_section=state.has_icd,
            has_cpt_section=state.has_cpt,
        )
    except Exception:  # pragma: no cover - a parser bug must score the case as wrong, not stop the evaluation
        return ParsedClaim()
