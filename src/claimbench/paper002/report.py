"""What the report's paper-002 section shows (report/_paper002.qmd): the verdict first, then the tables with the
paper's cited values beside this run's, as text and DataFrames built from the stage's output files."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from claimbench.paper002.evaluate import FINE_TUNED
from claimbench.paper002.figures import paper_level_f1, paper_values
from claimbench.paper002.metrics import COMPONENTS
from claimbench.paper002.tables import LEVEL_LABELS
from claimbench.plan.paper002 import GROUNDED

ZERO_SHOT = "zero-shot"


def _json(path: str | Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _f1(levels: pd.DataFrame, configuration: str, component: str) -> float | None:
    row = levels[(levels.configuration == configuration) & (levels.component == component)]
    return None if row.empty or pd.isna(row.f1.iloc[0]) else float(row.f1.iloc[0])


def _fmt(value: float | None) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.2f}"


def verdict(inputs: Mapping[str, Path]) -> str:
    """Markdown: the paper's two findings on its held-out charts (fine-tuning lifts F1 far above zero-shot; F1 falls
    gradually from Level 0 to Level 4) checked on this run's numbers."""
    levels = pd.read_csv(inputs["paper002_levels"])
    ft = {c: _f1(levels, FINE_TUNED, c) for c in COMPONENTS}
    zs = {c: _f1(levels, ZERO_SHOT, c) for c in COMPONENTS}
    lifted = [c for c in ("icd10_l3", "cpt") if ft[c] is not None and zs[c] is not None and ft[c] > zs[c]]
    icd = [ft[f"icd10_l{n}"] for n in range(5)]
    monotone = all(a is not None and b is not None and a >= b for a, b in zip(icd, icd[1:]))
    drops = [a - b for a, b in zip(icd, icd[1:]) if a is not None and b is not None]
    cited = paper_level_f1()
    lines = [
        f"Paper 002 reports that its fine-tuned model reaches ICD-10-CM F1 {cited[('icd10_l0', 'fine-tuned')]:.3f} "
        f"at the category level (Level 0), {cited[('icd10_l3', 'fine-tuned')]:.3f} for exact codes (Level 3) and "
        f"{cited[('icd10_l4', 'fine-tuned')]:.3f} with the evidence line (Level 4), CPT F1 "
        f"{cited[('cpt', 'fine-tuned')]:.3f}, against a zero-shot baseline of "
        f"{cited[('icd10_l3', 'zero-shot')]:.2f} (ICD-10-CM) and {cited[('cpt', 'zero-shot')]:.3f} (CPT), and that F1 "
        "declines gradually, without abrupt drops, as the level gets more specific.",
        "",
        f"**This run** (fine-tuned stand-in): Level 0 {_fmt(ft['icd10_l0'])}, Level 3 {_fmt(ft['icd10_l3'])}, "
        f"Level 4 {_fmt(ft['icd10_l4'])}, CPT {_fmt(ft['cpt'])}; zero-shot: Level 3 {_fmt(zs['icd10_l3'])}, CPT "
        f"{_fmt(zs['cpt'])}.",
        "",
        f"- Fine-tuning above zero-shot: **{'yes' if len(lifted) == 2 else 'no'}** "
        f"({'on exact ICD-10-CM codes and CPT' if len(lifted) == 2 else 'not on both exact ICD-10-CM and CPT'}).",
        f"- F1 falls from Level 0 to Level 4 without rising: **{'yes' if monotone else 'no'}**"
        + (f"; the largest drop between neighbouring levels is {max(drops):.2f}." if drops else "."),
    ]
    lines += grounded_verdict(levels, zs, ft)
    lines += ["", "Point estimates on a small evaluation sample: read them as the direction of the result, not its size."]
    return "\n".join(lines)


def grounded_verdict(levels: pd.DataFrame, zero_shot: Mapping[str, float | None],
                     fine_tuned: Mapping[str, float | None]) -> list[str]:
    """Markdown lines on the description-grounded variant (beyond the paper) against zero-shot, where it ran."""
    gr = {c: _f1(levels, GROUNDED, c) for c in COMPONENTS}
    if gr["icd10_l3"] is None:
        return []
    gains = {c: gr[c] - zero_shot[c] for c in ("icd10_l3", "cpt") if gr[c] is not None and zero_shot[c] is not None}
    return [
        "",
        f"**Beyond the paper, `{GROUNDED}`:** the same fine-tuned answers with every code the model wrote dropped and "
        "its words for each diagnosis (the evidence it cited) and procedure (its rationale) resolved to the nearest "
        "valid code among the training charts' evidence and the code descriptions (paper 002's own remedy for "
        f"invented codes). Exact codes (Level 3) {_fmt(gr['icd10_l3'])}, Level 4 {_fmt(gr['icd10_l4'])}, CPT "
        f"{_fmt(gr['cpt'])}"
        + ("; above zero-shot by " + ", ".join(f"{gains[c]:+.2f} ({'Level 3' if c == 'icd10_l3' else 'CPT'})"
                                               for c in gains) if gains else "")
        + f"; the fine-tuned stand-in's own codes score Level 3 {_fmt(fine_tuned['icd10_l3'])}, CPT "
        f"{_fmt(fine_tuned['cpt'])}.",
    ]


def levels_display(inputs: Mapping[str, Path]) -> pd.DataFrame:
    """Figure 2 as a table: per component this run's P / R / F1 of each configuration and the paper's F1."""
    levels = pd.read_csv(inputs["paper002_levels"])
    cited = paper_level_f1()
    rows = []
    for component in COMPONENTS:
        row = {"level": LEVEL_LABELS[component]}
        for name in (ZERO_SHOT, FINE_TUNED, GROUNDED):
            found = levels[(levels.configuration == name) & (levels.component == component)]
            if found.empty:
                continue
            r = found.iloc[0]
            row[f"{name} P"], row[f"{name} R"], row[f"{name} F1"] = (_fmt(r.precision), _fmt(r.recall), _fmt(r.f1))
        row["paper fine-tuned F1 (cited)"] = _fmt(cited.get((component, "fine-tuned")))
        row["paper zero-shot F1 (cited)"] = _fmt(cited.get((component, "zero-shot")))
        rows.append(row)
    return pd.DataFrame(rows)


def outputs_display(inputs: Mapping[str, Path]) -> pd.DataFrame:
    """Per configuration: charts scored, outputs that parsed / were empty / not JSON / broke the schema, fabricated
    codes, evidence Jaccard, and generation facts (tokens, cap hits) from the prediction meta."""
    summary = _json(inputs["paper002_summary"])["configurations"]
    metas = {ZERO_SHOT: inputs.get("paper002_meta_zero_shot"), FINE_TUNED: inputs.get("paper002_meta_fine_tuned"),
             GROUNDED: inputs.get("paper002_meta_grounded")}
    rows = []
    for name, facts in summary.items():
        meta = _json(metas[name]) if metas.get(name) else {}
        validity = facts.get("validity", {})
        parse = facts.get("parse", {})
        rows.append({
            "configuration": name,
            "charts": facts["n_charts"],
            "valid JSON claim": parse.get("ok", 0),
            "empty": parse.get("empty", 0),
            "invalid JSON": parse.get("invalid_json", 0),
            "schema violation": parse.get("schema", 0),
            "ICD-10-CM codes / fabricated": f"{validity.get('icd10_codes', 0)} / {validity.get('icd10_fabricated', 0)}",
            "CPT codes / fabricated": f"{validity.get('cpt_codes', 0)} / {validity.get('cpt_fabricated', 0)}",
            "evidence Jaccard (matched codes)": (f"{facts['evidence_jaccard']:.2f} ({facts['evidence_matched_codes']})"
                                                 if facts.get("evidence_jaccard") is not None else "—"),
            "hit token cap": meta.get("n_hit_max_new_tokens", "—"),
        })
    return pd.DataFrame(rows)


def domains_display(inputs: Mapping[str, Path]) -> pd.DataFrame:
    """Table 1: weighted mean (weighted SD) of per-code P / R / F1 per domain, this run's fine-tuned stand-in beside
    the paper's."""
    ours = pd.read_csv(inputs["paper002_domains"])
    ours = ours[ours.configuration == FINE_TUNED].set_index("domain")
    cited = paper_values("domains").set_index("domain")
    rows = []
    for domain in cited.index:
        row = {"domain": domain}
        if domain in ours.index:
            r = ours.loc[domain]
            row["this run: codes / cases"] = f"{int(r.n_codes)} / {int(r.n_cases)}"
            for score in ("precision", "recall", "f1"):
                row[f"this run {score}"] = f"{_fmt(r[score])} ({_fmt(r[f'{score}_sd'])})"
        c = cited.loc[domain]
        row["paper: cases"] = int(c.n)
        for score in ("precision", "recall", "f1"):
            row[f"paper {score}"] = f"{c[score]:.2f} ({c[f'{score}_sd']:.2f})"
        rows.append(row)
    return pd.DataFrame(rows)


def split_text(inputs: Mapping[str, Path]) -> str:
    """Markdown: the split, augmentation and training that produced the fine-tuned stand-in."""
    split = _json(inputs["paper002_split"])
    train = _json(inputs["paper002_train_stats"]) if "paper002_train_stats" in inputs else {}
    data = train.get("data", {})
    text = (
        f"{split['n_charts']} charts: {split['n_evaluation']} held out for evaluation (a fixed "
        f"{split['evaluation_share']:.0%} chosen by a seeded hash of each chart id, so a chart keeps its side as the "
        f"extract grows), {split['n_validation']} for validation, {split['n_train_notes']} for training, to which "
        f"note-pair augmentation added {split['n_composites']} composites (two notes concatenated, labels merged, "
        f"evidence lines shifted; share {split['augmentation_share']:.0%}, training only)."
    )
    if train:
        rate = train.get("tokens_per_second")
        text += (
            f" The stand-in ({train.get('model')}, for {train.get('stands_in_for')}) was fine-tuned with "
            f"{train.get('method')} on {data.get('n_examples')} of them "
            f"({data.get('prompt_tokens', 0) + data.get('completion_tokens', 0):,} tokens, "
            f"{'packed' if train.get('packing') else 'unpacked'}), {train.get('steps')} steps at learning rate "
            f"{train.get('selection', {}).get('learning_rate', '—')} chosen on the validation charts, "
            f"{rate:.0f} training tokens/s on this machine." if rate else "."
        )
    return text


def retention_text(inputs: Mapping[str, Path]) -> str:
    status = _json(inputs["paper002_retention_status"])
    if status.get("status") != "run":
        return f"*{status.get('status', 'not run')}* (config `paper002.qa_file`; licensed benchmarks cannot ship)."
    return (f"{status['n_questions']} questions from `{status['qa_file']}`: accuracy {status['accuracy_before']:.3f} "
            f"before and {status['accuracy_after']:.3f} after fine-tuning (each question answered by the option "
            "letter of highest likelihood).")


def diagnostics_text(path: str | Path) -> tuple[str, pd.DataFrame]:
    """(Markdown, the most frequent codes) of the synthetic generator's dataset diagnostics (paper 002 records code
    frequency, labels per document and the discard rate of labels without a valid code and evidence)."""
    d = _json(path)
    labels, discards, words = d["labels_per_document"], d["discards"], d["note_length"]["words"]
    reasons = ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in discards["by_reason"].items()) or "none"
    domains = ", ".join(f"{name} {facts['share']:.0%}" for name, facts in d["domain_shares"].items())
    text = (
        f"The synthetic extract: {d['n_documents']} charts, {labels['mean']:.2f} ICD-10-CM labels per chart "
        f"(median {labels['median']:g}, max {labels['max']}); of {discards['n_intended']} labels the generator "
        f"intended, {discards['n_discarded']} ({discards['rate']:.1%}) were discarded because no valid code with "
        f"evidence in the note could be found ({reasons}). Charts with a finding of each domain: {domains}. Notes run "
        f"from {words['min']} to {words['max']} words (median {words['median']:g})."
    )
    top = sorted(d["code_frequency"]["icd10"].items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    return text, pd.DataFrame(top, columns=["ICD-10-CM code", "charts"])
