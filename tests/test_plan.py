"""claimbench.plan: the method vocabulary matches the config schema; names become wildcard regexes; the layout."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from claimbench.plan import names_pattern
from claimbench.plan.layout import Layout
from claimbench.plan.grounding import DESCRIBE_KIND
from claimbench.plan.methods import LLM_METHODS, LLM_PROMPTS, METHODS
from claimbench.prompts import KINDS

SCHEMA = yaml.safe_load((Path(__file__).parents[1] / "config" / "schema.yaml").read_text(encoding="utf-8"))


def test_the_schema_allows_exactly_the_methods_and_prompt_kinds_of_the_library():
    entry = SCHEMA["properties"]["configurations"]["additionalProperties"]["properties"]
    assert sorted(entry["method"]["enum"]) == sorted(METHODS)
    assert sorted(entry["prompt"]["enum"]) == sorted((*KINDS, DESCRIBE_KIND))  # paper 000's kinds, the describe task
    assert set(LLM_PROMPTS.values()) <= set(KINDS) and set(LLM_METHODS) <= set(METHODS)


def test_names_pattern_matches_the_names_only():
    pattern = re.compile(f"^(?:{names_pattern(['ft-mini', 'ft-mini+grammar'])})$")
    assert pattern.match("ft-mini+grammar") and pattern.match("ft-mini")
    assert not pattern.match("ft-miniXgrammar") and not pattern.match("ft")
    assert not re.match(f"^(?:{names_pattern([])})$", "")  # no names: matches nothing, not even the empty string


def test_layout_paths_under_the_results_folder():
    layout = Layout("R")
    assert layout.split("test") == "R/data/split/test.parquet"
    assert layout.neighbours("test") == "R/retrieval/neighbours.parquet"
    assert layout.code_hints("finetune") == "R/retrieval/finetune_code_hints.parquet"
    assert layout.finetuned("{configuration}", "merged") == "R/finetune/{configuration}/merged"
    assert layout.predictions("knn", "meta.json") == "R/predictions/knn.meta.json"
    assert layout.paper002() == "R/paper002" and layout.paper002("data/x.parquet") == "R/paper002/data/x.parquet"
