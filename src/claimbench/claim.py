"""The billing claim: what a coder submits for one surgical encounter, and its text form.

The text form is the paper's training target (paper 000, Methods/Fine-tuning): an ICD-10-CM block, then one
block per provider with numbered CPT lines. Models are trained to write it, the structure metrics compare against
it, and the RAG prompt shows it as the example claims. It lives here once so all three agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Phi-3's unused special tokens, used by the paper to segment the claim into logical parts. Other models get the
# same text with these markers left out (see ``render_claim(segment_tokens=...)``).
PHI3_SEGMENT_TOKENS = {
    "icd_open": "<|placeholder2|>",
    "icd_close": "<|placeholder3|>",
    "cpt_open": "<|placeholder4|>",
    "cpt_close": "<|placeholder5|>",
}
NO_SEGMENT_TOKENS = {key: "" for key in PHI3_SEGMENT_TOKENS}


@dataclass(frozen=True)
class CptLine:
    """One billed procedure line: who billed it, the CPT code, its modifiers in billing order, a description."""

    provider: str
    cpt: str
    modifiers: tuple[str, ...] = ()
    description: str = ""

    @classmethod
    def from_dict(cls, d: dict) -> "CptLine":
        return cls(
            provider=str(d.get("provider", "")),
            cpt=str(d["cpt"]),
            modifiers=tuple(d.get("modifiers") or ()),
            description=str(d.get("description") or ""),
        )

    def to_dict(self) -> dict:
        return {
            "provider": self.provider,
            "cpt": self.cpt,
            "modifiers": list(self.modifiers),
            "description": self.description,
        }


@dataclass(frozen=True)
class Claim:
    """ICD-10-CM codes in claim order, and the CPT lines in claim order."""

    icd10: tuple[str, ...] = ()
    cpt_lines: tuple[CptLine, ...] = field(default_factory=tuple)

    @classmethod
    def from_record(cls, record: dict) -> "Claim":
        """Build from a record of the data contract (``icd10`` list, ``cpt_lines`` list of dicts)."""
        return cls(
            icd10=tuple(record.get("icd10") or ()),
            cpt_lines=tuple(CptLine.from_dict(line) for line in (record.get("cpt_lines") or ())),
        )

    @property
    def cpt_codes(self) -> tuple[str, ...]:
        return tuple(line.cpt for line in self.cpt_lines)

    @property
    def providers(self) -> tuple[str, ...]:
        """Providers in order of first appearance."""
        return tuple(dict.fromkeys(line.provider for line in self.cpt_lines))


def render_claim(claim: Claim, segment_tokens: dict[str, str] | None = None) -> str:
    """The claim in the paper's training format.

    ``segment_tokens`` defaults to none (plain text); pass ``PHI3_SEGMENT_TOKENS`` to reproduce the paper's
    Phi-3 segmentation exactly. CPT lines are numbered within each provider block, as in the paper's template.
    """
    tok = NO_SEGMENT_TOKENS if segment_tokens is None else segment_tokens
    parts = [f"{tok['icd_open']}ICD-10-CM Diagnoses:\n\n{', '.join(claim.icd10)}{tok['icd_close']}\n\n"]
    parts.append(f"{tok['cpt_open']}CPT Codes with Modifiers:\n")
    for provider in claim.providers:
        parts.append(f"\nProvider Name: {provider}\nProvider Billables:\n")
        lines = [line for line in claim.cpt_lines if line.provider == provider]
        for number, line in enumerate(lines, start=1):
            parts.append(
                f"CPT {number}: {line.cpt} | Modifiers: {', '.join(line.modifiers)} | Description: {line.description}\n"
            )
    return "".join(parts).rstrip("\n") + tok["cpt_close"]
