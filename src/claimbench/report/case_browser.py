"""The case browser: one static, self-contained HTML page that shows, for each test case, the operative note, the
coder's claim and every configuration's claim side by side, each code marked

- **matched**: generated and billed;
- **missed**: billed, not generated;
- **extra**: generated, not billed, but a real code (valid for the encounter's fiscal year / the CPT catalog);
- **fabricated**: generated, not billed, and not a valid code (``*_fabricated_codes`` of the evaluation's case
  frames, ``validity.case_validity``). A (CPT, modifier) pair is fabricated when its CPT or its modifier is.

It reads what the evaluation stage wrote (the per-case frames: parsed and gold code sets, validity, scores) and the
raw generated text, so it shows exactly what was scored. Notes and model output are untrusted text: the page is
rendered by Jinja2 with autoescaping on, and carries no script and no external resource.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined

from claimbench.claim import render_claim
from claimbench.evaluation.cases import gold_claim, plain, read_predictions
from claimbench.evaluation.metrics import COMPONENT_LABELS, COMPONENTS

MATCHED, MISSED, EXTRA, FABRICATED = "matched", "missed", "extra", "fabricated"


@dataclass(frozen=True)
class Code:
    code: str
    mark: str  # matched / missed / extra / fabricated; "gold" in the coder's column


@dataclass
class Answer:
    """One configuration's answer to one case."""

    configuration: str
    text: str | None  # None: no prediction line
    parseable: bool
    codes: dict[str, list[Code]] = field(default_factory=dict)  # component -> marked codes
    scores: dict[str, tuple[float, float]] = field(default_factory=dict)  # component -> (precision, recall)

    def _count(self, *marks: str) -> int:
        return sum(code.mark in marks for codes in self.codes.values() for code in codes)

    @property
    def n_matched(self) -> int:
        return self._count(MATCHED)

    @property
    def n_billed(self) -> int:
        return self._count(MATCHED, MISSED)

    @property
    def n_fabricated(self) -> int:
        return self._count(FABRICATED)


@dataclass
class Case:
    encounter_id: str
    service: str
    surgery_date: str
    fiscal_year: int | None
    note: str
    gold_text: str
    gold: dict[str, list[Code]]
    answers: list[Answer]


def mark_codes(predicted: Sequence[str], gold: Sequence[str], fabricated: Sequence[str] = ()) -> list[Code]:
    """The generated codes marked matched / extra / fabricated, then the billed codes not generated (missed)."""
    gold_set, fabricated_set = set(gold), set(fabricated)
    marked = [
        Code(code, MATCHED if code in gold_set else FABRICATED if code in fabricated_set else EXTRA)
        for code in predicted
    ]
    generated = set(predicted)
    return marked + [Code(code, MISSED) for code in gold if code not in generated]


def fabricated_pairs(pairs: Sequence[str], cpt: Sequence[str], modifiers: Sequence[str]) -> list[str]:
    """(CPT, modifier) pairs (``66984-RT``) whose CPT or modifier is fabricated."""
    cpt, modifiers = set(cpt), set(modifiers)
    return [p for p in pairs if p.split("-", 1)[0] in cpt or p.split("-", 1)[-1] in modifiers]


def _list(row: Mapping, column: str) -> list[str]:
    value = row.get(column)
    return [] if value is None else [str(v) for v in plain(value)]


def answer(configuration: str, row: Mapping, text: str | None) -> Answer:
    """Marked codes of one row of a configuration's case frame (``cases.score_cases``)."""
    fabricated = {
        "icd10": _list(row, "icd10_fabricated_codes"),
        "cpt": _list(row, "cpt_fabricated_codes"),
        "modifier": fabricated_pairs(
            _list(row, "pred_modifier"), _list(row, "cpt_fabricated_codes"), _list(row, "modifier_fabricated_codes")
        ),
    }
    return Answer(
        configuration=configuration,
        text=text,
        parseable=bool(row.get("parseable_claim", True)),
        codes={c: mark_codes(_list(row, f"pred_{c}"), _list(row, f"gold_{c}"), fabricated[c]) for c in COMPONENTS},
        scores={c: (float(row[f"{c}_precision"]), float(row[f"{c}_recall"])) for c in COMPONENTS},
    )


def build_cases(
    test: pd.DataFrame,
    cases: Mapping[str, pd.DataFrame],
    texts: Mapping[str, Mapping[str, str | None]],
    max_cases: int | None = None,
) -> tuple[list[Case], int]:
    """(the cases to show, how many test cases were scored). ``cases``: configuration -> case frame, for the
    configurations that ran, in display order; ``texts``: configuration -> encounter id -> generated text.
    The cases shown are those the configurations were scored on, in test-split order, the first ``max_cases``."""
    scored = [frame.set_index("encounter_id", drop=False) for frame in cases.values()]
    ids = set().union(*(set(frame.index) for frame in scored)) if scored else set()
    records = [r for r in test.to_dict("records") if str(r["encounter_id"]) in ids]
    shown = records if max_cases is None else records[:max_cases]
    out = []
    for record in shown:
        encounter = str(record["encounter_id"])
        claim = gold_claim(record)
        answers, gold = [], None
        for (name, frame), indexed in zip(cases.items(), scored):
            if encounter not in indexed.index:
                continue
            row = indexed.loc[encounter].to_dict()
            answers.append(answer(name, row, texts.get(name, {}).get(encounter)))
            if gold is None:
                gold = {c: [Code(code, "gold") for code in _list(row, f"gold_{c}")] for c in COMPONENTS}
        year = record.get("fiscal_year")
        out.append(
            Case(
                encounter_id=encounter,
                service=str(record.get("service") or ""),
                surgery_date=str(record.get("surgery_date") or ""),
                fiscal_year=None if year is None or year != year else int(year),
                note=str(record.get("op_note") or ""),
                gold_text=render_claim(claim),
                gold=gold or {c: [] for c in COMPONENTS},
                answers=answers,
            )
        )
    return out, len(records)


def templates() -> Environment:
    """The report's HTML templates (the case browser, the coded notes' page; their marks share _marks.css.j2)."""
    return Environment(
        loader=PackageLoader("claimbench.report", "templates"), autoescape=True, undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )


def render_html(
    shown: Sequence[Case],
    n_scored: int,
    configurations: pd.DataFrame,
    title: str = "ClaimBench case browser",
    report_link: str = "report.html",
) -> str:
    """The page. ``configurations``: the evaluation's configurations.csv (configuration, run, reason, method, model,
    paper_column), in config order."""
    return templates().get_template("case_browser.html.j2").render(
        title=title,
        cases=shown,
        n_scored=n_scored,
        configurations=configurations.to_dict("records"),
        components=[(c, COMPONENT_LABELS[c]) for c in COMPONENTS],
        marks=(MATCHED, MISSED, EXTRA, FABRICATED),
        report_link=report_link,
    )


def write_case_browser(
    test_path: str,
    configurations_path: str,
    case_paths: Mapping[str, str],
    prediction_paths: Mapping[str, str],
    out_path: str,
    max_cases: int | None = None,
    title: str = "ClaimBench case browser",
) -> int:
    """Read the evaluation's outputs, write the page; returns the number of cases shown."""
    from claimbench.data.io import read_encounters

    configurations = pd.read_csv(configurations_path, keep_default_na=False)
    configurations["run"] = configurations["run"].astype(str).str.lower().isin(["true", "1"])
    ran = [str(n) for n in configurations.loc[configurations.run, "configuration"]]
    cases = {name: pd.read_parquet(case_paths[name]) for name in ran}
    texts = {}
    for name in ran:
        predictions = read_predictions(prediction_paths[name])
        first = predictions.drop_duplicates("encounter_id")  # as the scoring does: a repeated id keeps its first line
        texts[name] = dict(zip(first.encounter_id, first.generated_text))
    shown, n_scored = build_cases(read_encounters(test_path), cases, texts, max_cases)
    html = render_html(shown, n_scored, configurations, title=title)
    with open(out_path, "w", encoding="utf-8") as handle:
        handle.write(html)
    return len(shown)
