"""Grammar-constrained decoding of the claim (beyond the paper): the output can only be a claim in the paper's layout
whose codes exist in the encounter's code sets.

The grammar (EBNF, compiled by xgrammar into per-token masks) is exactly what ``claimbench.claim.render_claim``
writes without segment tokens::

    ICD-10-CM Diagnoses:

    <code>, <code>, ...

    CPT Codes with Modifiers:

    Provider Name: <name>
    Provider Billables:
    CPT 1: <cpt> | Modifiers: <mod>, <mod> | Description: <text>
    CPT 2: ...

ICD-10-CM codes are the billable codes of the case's fiscal year, CPT codes those of the catalog valid in the surgery's
calendar year, modifiers the modifier list: the reference sets the validity check judges by
(``claimbench.evaluation.validity.ReferenceSets``), so a constrained output has no fabricated code by construction.
Code lists are written as a minimal prefix automaton (``_trie_rules``): the same language as a flat list of 72,750
alternatives, compiled ~10x faster (docs/decisions.md, benchmarks/claim_grammar_speed.py). Every repetition and
free-text field is bounded (``GrammarLimits``), so the grammar admits only finite claims. The grammar writes the
plain layout for every prompt family (Phi-3's segment tokens are special tokens, outside any grammar).

Compiling a fiscal year's grammar takes seconds, most of it for the free text's bounds, so only the fiscal years of
the predicted cases are compiled, each once per process.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

log = logging.getLogger(__name__)

CONSTRAINTS = ("claim_grammar",)  # values of config configurations.<name>.constrained


@dataclass(frozen=True)
class GrammarLimits:
    """Bounds on the claim's repetitions and free text. The defaults are generous fixed bounds; config
    ``predict.grammar.from_training`` takes them from the training claims instead (``from_settings``)."""

    max_icd10: int = 12
    max_providers: int = 3
    max_lines: int = 6  # CPT lines per provider
    max_modifiers: int = 4  # per CPT line
    max_name_chars: int = 40
    max_description_chars: int = 120

    def __post_init__(self):
        for key, value in asdict(self).items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"GrammarLimits.{key} must be a positive integer, got {value!r}")

    @classmethod
    def from_settings(cls, settings: Mapping | None, training_claims: Iterable[Mapping] = ()) -> "GrammarLimits":
        """The limits of config ``predict.grammar``: with ``from_training: true`` every bound not given there is the
        largest the training split's claims hold (``training_claims``: records with icd10 and cpt_lines), so the
        grammar admits what coders wrote and no longer runs of repeated lines; bounds given explicitly win."""
        settings = dict(settings or {})
        if not settings.pop("from_training", False):
            return cls(**settings)
        claims = list(training_claims)
        if not claims:
            raise ValueError("predict.grammar.from_training needs the training split's claims; none were given")
        lines = [line for claim in claims for line in claim["cpt_lines"]]
        per_provider = Counter((i, line["provider"]) for i, claim in enumerate(claims) for line in claim["cpt_lines"])
        observed = {
            "max_icd10": max(len(claim["icd10"]) for claim in claims),
            "max_providers": max(len({line["provider"] for line in claim["cpt_lines"]}) for claim in claims),
            "max_lines": max(per_provider.values(), default=1),
            "max_modifiers": max((len(line["modifiers"]) for line in lines), default=1),
            "max_name_chars": max((len(line["provider"]) for line in lines), default=1),
            "max_description_chars": max((len(line.get("description") or "") for line in lines), default=1),
        }
        return cls(**{key: max(1, int(value)) for key, value in {**observed, **settings}.items()})


def _literal(text: str) -> str:
    return json.dumps(text)  # an EBNF string literal: JSON escapes are xgrammar's escapes


def _trie_rules(name: str, codes: Iterable[str]) -> tuple[str, list[str]]:
    """(root rule name, rules) of a minimal prefix automaton over ``codes``: a prefix tree whose identical subtrees
    share one rule (ICD-10-CM repeats suffix sets, e.g. the 7th characters A/D/S of thousands of injury codes), so
    the grammar has ~10x fewer positions than the plain tree and compiles faster."""
    codes = sorted(set(codes))
    if not codes:
        raise ValueError(f"grammar slot {name!r} has no valid code")
    by_body: dict[str, str] = {}  # rule body -> rule name

    def build(depth: int, group: list[str]) -> str:
        children: dict[str, list[str]] = {}
        ends_here = False
        for code in group:
            if len(code) == depth:
                ends_here = True
            else:
                children.setdefault(code[depth], []).append(code)
        options = []
        for char, sub in children.items():
            leaf = all(len(c) == depth + 1 for c in sub)
            options.append(_literal(char) if leaf else f"{_literal(char)} {build(depth + 1, sub)}")
        if ends_here:
            options.append('""')
        body = " | ".join(options)
        if body not in by_body:
            by_body[body] = f"{name}_{len(by_body)}"
        return by_body[body]

    root = build(0, codes)
    return root, [f"{rule} ::= {body}" for body, rule in by_body.items()]


def claim_ebnf(icd10: Iterable[str], cpt: Iterable[str], modifiers: Iterable[str],
               limits: GrammarLimits = GrammarLimits()) -> str:
    """The EBNF grammar of a claim (``render_claim`` layout, no segment tokens) over these code sets."""
    icd_root, icd_rules = _trie_rules("icd", icd10)
    cpt_root, cpt_rules = _trie_rules("cpt", cpt)
    mod_root, mod_rules = _trie_rules("mod", modifiers)
    # CPT lines are numbered from 1 within each provider block: nested optionals write exactly "CPT 1", "CPT 2", ...
    lines = ""
    for number in range(limits.max_lines, 0, -1):
        head = _literal(f"CPT {number}: ") if number == 1 else _literal(f"\nCPT {number}: ")
        lines = f"{head} line" + (f" ({lines})?" if lines else "")
    rules = [
        "root ::= " + _literal("ICD-10-CM Diagnoses:\n\n") + " diagnoses "
        + _literal("\n\nCPT Codes with Modifiers:\n") + f" provider ({_literal(chr(10))} provider)"
        + f"{{0,{limits.max_providers - 1}}}",
        f"diagnoses ::= {icd_root} ({_literal(', ')} {icd_root}){{0,{limits.max_icd10 - 1}}}",
        "provider ::= " + _literal("\nProvider Name: ") + " name " + _literal("\nProvider Billables:\n") + " lines",
        # A provider name is a person's name with credentials: "Doe, Jane MD", "O'Neil-Smith, J. DO".
        f"name ::= [A-Za-z0-9,.'() -]{{1,{limits.max_name_chars}}}",
        f"lines ::= {lines}",
        f"line ::= {cpt_root} " + _literal(" | Modifiers: ")
        + f" ({mod_root} ({_literal(', ')} {mod_root}){{0,{limits.max_modifiers - 1}}})? "
        + _literal(" | Description: ") + " description",
        # Any text on one line except the field separator. A bounded repetition is one grammar position per
        # character: with the name, most of a fiscal year's compile time, but masks stay cheap (splitting the text
        # into chunks compiled 5x faster and made each token's mask 50-200x slower: docs/decisions.md).
        f"description ::= [^\\n|]{{1,{limits.max_description_chars}}}",
        *icd_rules, *cpt_rules, *mod_rules,
    ]
    return "\n".join(rules) + "\n"


def tokenizer_info(tokenizer, vocab_size: int, stop_token_ids: Iterable[int]):
    """xgrammar's view of the tokenizer: ``vocab_size`` is the model's logits width (it may exceed the tokenizer's),
    and the grammar's end allows exactly the model's stop tokens (generation.stop_token_ids)."""
    import xgrammar as xgr

    return xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=int(vocab_size),
                                              stop_token_ids=sorted(int(i) for i in stop_token_ids))


# Compiled grammars of this process by (tokenizer digest, grammar digest): a fiscal year's grammar is compiled once
# per process whichever ClaimGrammars asks. (Not kept on disk: xgrammar's serialize_json of a 72k-code grammar ran
# out of 12 GB of memory here.)
_COMPILED: dict[tuple[str, str], object] = {}


class ClaimGrammars:
    """Compiled claim grammars by (fiscal year, CPT year) for one tokenizer, from the reference code sets.

    ``refs`` is a ``claimbench.evaluation.validity.ReferenceSets`` (config ``codesets``), so the grammar admits
    exactly the codes the validity check counts as valid. Only the fiscal years asked for are compiled.
    """

    def __init__(self, info, refs, limits: GrammarLimits = GrammarLimits(), threads: int = 1):
        import xgrammar as xgr

        self.info = info
        self.refs = refs
        self.limits = limits
        self._compiler = xgr.GrammarCompiler(info, max_threads=max(1, int(threads)), cache_enabled=False)
        self._digest = hashlib.sha256(info.serialize_json().encode("utf-8")).hexdigest()
        self._grammars: dict[tuple, object] = {}
        self.timings: list[dict] = []  # one entry per grammar: fiscal year, seconds, compiled or found in the process

    def for_case(self, fiscal_year: int, year: int):
        """The compiled grammar of an encounter with this fiscal year (ICD-10-CM) and surgery year (CPT)."""
        fiscal_year, cpt = int(fiscal_year), self.refs.cpt(int(year))
        if (fiscal_year, cpt) not in self._grammars:
            started = time.perf_counter()
            ebnf = claim_ebnf(self.refs.icd10cm(fiscal_year), cpt, self.refs.modifiers, self.limits)
            key = (self._digest, hashlib.sha256(ebnf.encode("utf-8")).hexdigest())
            source = "in process" if key in _COMPILED else "compiled"
            if source == "compiled":
                _COMPILED[key] = self._compiler.compile_grammar(ebnf)
            self._grammars[(fiscal_year, cpt)] = _COMPILED[key]
            seconds = time.perf_counter() - started
            self.timings.append({"fiscal_year": fiscal_year, "n_cpt": len(cpt), "source": source,
                                 "seconds": round(seconds, 3)})
            log.info("claim grammar FY%d (%d CPT codes): %s in %.1f s", fiscal_year, len(cpt), source, seconds)
        return self._grammars[(fiscal_year, cpt)]

    def for_cases(self, fiscal_years: Sequence[int], years: Sequence[int]) -> list:
        """One compiled grammar per case; cases of the same fiscal year and CPT set share theirs."""
        return [self.for_case(fy, y) for fy, y in zip(fiscal_years, years)]


class RowMatchers:
    """One xgrammar matcher per generating row: masks a step's logits and follows the chosen tokens.

    Used by both batching paths of ``claimbench.models.generation`` (the continuous loop calls ``mask`` and
    ``accept`` itself; ``model.generate`` gets ``logits_processor``)."""

    def __init__(self, compiled: Sequence):
        import xgrammar as xgr

        self.matchers = [xgr.GrammarMatcher(g) for g in compiled]
        self.vocab_size = compiled[0].tokenizer_info.vocab_size if compiled else 0
        self._bitmask = xgr.allocate_token_bitmask(max(1, len(compiled)), self.vocab_size) if compiled else None

    def mask(self, logits, rows: Sequence[int]):
        """``logits`` (one line per entry of ``rows``, matcher indices) with every token the grammar forbids at -inf.
        A terminated matcher (it accepted a stop token) masks nothing: its row is finished."""
        import xgrammar as xgr

        bitmask = self._bitmask[: len(rows)]
        bitmask.fill_(-1)  # all allowed
        for k, row in enumerate(rows):
            if not self.matchers[row].is_terminated():
                self.matchers[row].fill_next_token_bitmask(bitmask, k)
        backend = "cpu" if logits.device.type == "cpu" else "torch_native"  # no triton dependency on GPUs
        on_device = bitmask.to(logits.device) if logits.device.type != "cpu" else bitmask
        xgr.apply_token_bitmask_inplace(logits, on_device, vocab_size=min(self.vocab_size, logits.shape[-1]),
                                        backend=backend)
        return logits

    def accept(self, row: int, token: int) -> None:
        matcher = self.matchers[row]
        if not matcher.is_terminated() and not matcher.accept_token(int(token)):
            raise RuntimeError(f"grammar matcher of row {row} rejected token {token}, which its own mask allowed")
