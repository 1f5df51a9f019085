"""The whole test split (beyond the papers): the configurations of ``predict.whole_split_configurations`` (no
language model, seconds each) predict every test note, as the extract's phrasing bank writes it and as the held-out
bank writes it, while the language-model rows answer a seeded sample of ``predict.n_test_cases``. Their comparisons
then rest on every test encounter instead of the sample, so an F1 difference between two of them is measured with
the narrower intervals the larger sample gives.

One row per configuration and component: F1 with its bootstrap 95% interval (``bootstrap.py``, the same resamples as
the report's other intervals), the paired difference from the reference configuration (the first listed) with its
paired interval and verdict (``paired.py``), F1 on the style-shifted notes with the drop and its paired interval
(``style_shift.py``), the share of encounters whose answer is the same set of codes in both phrasings
(``style_shift.unchanged_share``: beside a drop near zero, whether the answers held or moved among wrong codes), and the
drop set against the reference's: the reference's drop minus this one (positive: this configuration loses less on
the new wording), its paired interval and verdict (**yes**: it drops less).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from claimbench.evaluation.bootstrap import bootstrap_configurations, bootstrap_intervals
from claimbench.evaluation.metrics import COMPONENT_LABELS, COMPONENTS
from claimbench.evaluation.paired import Difference, f1_replicates, paired_difference, paired_verdict
from claimbench.evaluation.style_shift import (
    drop_replicates,
    paired_case_sets,
    pairs_table,
    signed_with_interval,
    unchanged_share,
)

COLUMNS = ["configuration", "component", "n_cases", "f1", "f1_lower", "f1_upper", "reference", "difference",
           "difference_lower", "difference_upper", "verdict", "f1_shifted", "drop", "drop_lower", "drop_upper",
           "unchanged", "drop_less", "drop_less_lower", "drop_less_upper", "drop_verdict"]


def whole_split_table(normal: Mapping[str, pd.DataFrame], shifted: Mapping[str, pd.DataFrame], n_resamples: int,
                      seed: int) -> pd.DataFrame:
    """``normal`` / ``shifted``: configuration -> its scored cases (``cases.score_cases``) on every test note, in
    the order to report, the first being the reference; a configuration absent from either (it did not run) is left
    out."""
    names = [name for name in normal if name in shifted and len(normal[name])]
    if not names:
        return pd.DataFrame(columns=COLUMNS)
    normal = {name: normal[name] for name in names}
    replicates = bootstrap_configurations(normal, n_resamples=n_resamples, seed=seed)
    intervals = bootstrap_intervals(replicates).set_index(["configuration", "component", "metric"])
    f1 = f1_replicates(replicates)
    pairs = paired_case_sets(normal, shifted, names)
    drops = drop_replicates(pairs, n_resamples, seed)
    shift = pairs_table(pairs, drops).set_index(["configuration", "component", "notes"])
    reference = names[0]
    rows = []
    for name in names:
        for component in COMPONENTS:
            value = float(shift.loc[(name, component, "normal"), "f1"])
            difference = paired_difference(value - float(shift.loc[(reference, component, "normal"), "f1"]),
                                           f1[(reference, component)], f1[(name, component)])
            own = name == reference
            drop = shift.loc[(name, component, "drop")]
            less = paired_difference(float(shift.loc[(reference, component, "drop"), "f1"]) - float(drop["f1"]),
                                     drops.get((name, component), {}).get("drop"),
                                     drops.get((reference, component), {}).get("drop"))
            rows.append({
                "configuration": name, "component": component, "n_cases": len(normal[name]), "f1": value,
                "f1_lower": intervals.loc[(name, component, "f1"), "lower"],
                "f1_upper": intervals.loc[(name, component, "f1"), "upper"],
                "reference": reference,
                "difference": np.nan if own else difference.value,
                "difference_lower": np.nan if own else difference.lower,
                "difference_upper": np.nan if own else difference.upper,
                "verdict": "" if own else paired_verdict(difference),
                "f1_shifted": float(shift.loc[(name, component, "shifted"), "f1"]),
                "drop": float(drop["f1"]), "drop_lower": float(drop["f1_lower"]),
                "drop_upper": float(drop["f1_upper"]),
                "unchanged": unchanged_share(pairs[name], component),
                "drop_less": np.nan if own else less.value,
                "drop_less_lower": np.nan if own else less.lower,
                "drop_less_upper": np.nan if own else less.upper,
                "drop_verdict": "" if own else paired_verdict(less),
            })
    return pd.DataFrame(rows, columns=COLUMNS)


def whole_split_display(table: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration: per component F1 (interval), the paired difference from the reference
    [interval], the drop on style-shifted notes (interval) and the share of answers unchanged by the new wording."""
    out = []
    for name, rows in table.groupby("configuration", sort=False):
        row = {"Configuration": name, "Cases": int(rows["n_cases"].max())}
        for component in COMPONENTS:
            r = rows[rows.component == component].iloc[0].to_dict()  # a dict: a Series' .drop is a method
            label = COMPONENT_LABELS[component]
            row[f"{label} F1"] = f"{r['f1']:.2f} ({r['f1_lower']:.2f}, {r['f1_upper']:.2f})"
            row[f"{label} vs {r['reference']}"] = str(Difference(r["difference"], r["difference_lower"],
                                                                 r["difference_upper"]))
            row[f"{label} drop"] = signed_with_interval(r["drop"], r["drop_lower"], r["drop_upper"])
            row[f"{label} same answer"] = f"{r['unchanged']:.2f}"
        out.append(row)
    return pd.DataFrame(out)


def drop_comparison_display(table: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration other than the reference: per component the reference's drop minus its own
    [paired interval] and the verdict on "drops less than the reference"."""
    out = []
    for name, rows in table[table.configuration != table.reference].groupby("configuration", sort=False):
        row = {"Configuration": name}
        for component in COMPONENTS:
            r = rows[rows.component == component].iloc[0]
            label = COMPONENT_LABELS[component]
            row[f"{label}: {r['reference']}'s drop − its drop"] = str(Difference(r["drop_less"], r["drop_less_lower"],
                                                                            r["drop_less_upper"]))
            row[f"{label}: drops less"] = r["drop_verdict"]
        out.append(row)
    return pd.DataFrame(out)


def summarize_whole_split(normal_paths: Mapping[str, str], shifted_paths: Mapping[str, str], n_resamples: int,
                          seed: int, table_out) -> pd.DataFrame:
    """Rule evaluate_whole_split: read the scored cases, write the table (CSV)."""
    table = whole_split_table({name: pd.read_parquet(path) for name, path in normal_paths.items()},
                              {name: pd.read_parquet(path) for name, path in shifted_paths.items()},
                              n_resamples, seed)
    table.to_csv(table_out, index=False)
    return table
