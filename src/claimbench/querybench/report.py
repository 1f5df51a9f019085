"""Text of the report section (report/_querybench.qmd) built from the section's input files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from claimbench.querybench.prompt import PROMPT_TEMPLATE
from claimbench.querybench.systems import SYSTEMS


def _escape(text: str) -> str:
    return text.replace("<", "&lt;").replace(">", "&gt;")


def intro(inputs: dict[str, Path]) -> str:
    """What was run: the prompt, the samples (with the paper's sizes), the models, the headline temperature."""
    samples = pd.read_csv(inputs["querybench_samples"])
    runs = pd.read_csv(inputs["querybench_runs"])
    head = runs[runs["headline"].astype(bool)]
    sizes = "; ".join(
        f"{SYSTEMS[r.system].name}: {r.n_codes} codes from {r.source} (paper: {r.paper_n_codes:,})"
        for r in samples.itertuples()
    )
    models = ", ".join(runs["model"].drop_duplicates())
    temperature = head["temperature"].iloc[0] if len(head) else float("nan")
    max_new = int(runs["max_new_tokens"].iloc[0]) if len(runs) else 50
    prompt = PROMPT_TEMPLATE.format(system="<code system>", description="<description>", sample_code="<sample code>")
    examples = ", ".join(f"{s.name} {s.example_code}" for s in SYSTEMS.values())
    return (
        "Each model gets a code's description in the paper's prompt, word for word:\n\n"
        + "\n".join(f"> {_escape(line)}" if line else ">" for line in prompt.split("\n"))
        + f"\n\nwith sample codes {examples} (kept out of the sample, so echoing the example never scores). "
        f"Up to {max_new} new tokens; seeded sampling at temperature {temperature:g} for the tables (the paper's "
        f"choice). **Data**: a seeded uniform sample of billable codes per system: {sizes}. The paper sampled codes "
        "from the Mount Sinai data warehouse with UMLS descriptions; here descriptions come from the shipped code sets "
        "(CPT: this project's demo catalog, descriptions in our own words, unless a licensed file is configured). "
        f"**Models (this run)**: {models}: small offline models; the paper queried GPT-3.5, GPT-4, Gemini Pro and "
        "Llama-2-70b through APIs (the api configuration is off by default: the workflow runs offline). Rows and "
        "columns marked as the paper's are its cited numbers, not recomputed."
    )


def runs_table(inputs: dict[str, Path]) -> pd.DataFrame:
    runs = pd.read_csv(inputs["querybench_runs"])
    cols = ["model", "mode", "temperature", "n_prompts", "new_tokens", "generation_seconds", "tokens_per_second",
            "batch_size"]
    return runs[[c for c in cols if c in runs]].sort_values(["model", "mode", "temperature"])


def sweep_table(inputs: dict[str, Path]) -> pd.DataFrame:
    sweep = pd.read_csv(inputs["querybench_sweep"])
    sweep["system"] = sweep["system"].map(lambda k: SYSTEMS[k].name)
    cols = ["model", "system", "temperature", "n", "exact_match", "valid", "fabricated", "code_frequency"]
    view = sweep[cols].round(1).astype(object)
    return view.where(view.notna(), "—").rename(columns={
        "exact_match": "exact match %", "valid": "valid %", "fabricated": "fabricated %",
        "code_frequency": "codes per response"})


def constrained_summary(inputs: dict[str, Path]) -> str:
    """One sentence per model and code system: exact match and fabricated %, free vs trie, at the headline."""
    summary = pd.read_csv(inputs["querybench_summary"])
    summary = summary[summary["headline"].astype(bool)]
    lines = []
    for (model, system), part in summary.groupby(["model", "system"], sort=False):
        by = {(r.mode, r.metric): r.value for r in part.itertuples()}
        if ("trie", "exact_match") not in by or ("free", "exact_match") not in by:
            continue
        fab = by.get(("free", "fabricated"))
        fab_text = "no code to judge" if fab is None or pd.isna(fab) else f"{fab:.1f}%"
        lines.append(
            f"- {model}, {SYSTEMS[system].name}: exact match {by[('free', 'exact_match')]:.1f}% free → "
            f"{by[('trie', 'exact_match')]:.1f}% constrained; fabricated {fab_text} → "
            f"{by.get(('trie', 'fabricated'), float('nan')):.1f}%."
        )
    return "\n".join(lines)
