"""Code versions: what a rule's script imports from the library, and which edits change the version."""

import shutil
from pathlib import Path

import pytest

from claimbench.audit.codeversion import code_version, library_calls, normalised_source

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def checkout(tmp_path):
    """scripts/ and src/ of this checkout, to edit."""
    for name in ("scripts", "src"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return tmp_path


def _version(root, script):
    return code_version(root / "scripts" / script, root).version


def test_closure_follows_imports_transitively_and_stays_in_its_stage():
    files = code_version(ROOT / "scripts/evaluate_summary.py", ROOT).files
    assert "src/claimbench/evaluation/pipeline.py" in files  # imported by the script
    assert "src/claimbench/evaluation/metrics.py" in files  # imported by pipeline.py
    assert "src/claimbench/evaluation/__init__.py" in files and "src/claimbench/__init__.py" in files
    assert "src/claimbench/data/paper000_table2.csv" in files  # named by evaluation/tables.py
    assert not any(name.startswith("src/claimbench/models/finetune") for name in files)
    predict = code_version(ROOT / "scripts/predict.py", ROOT).files
    assert "src/claimbench/data/prompts.yaml" in predict
    assert "src/claimbench/evaluation/metrics.py" not in predict


def test_docstring_comment_and_layout_edits_keep_the_version(checkout):
    before = {script: _version(checkout, script) for script in ("evaluate_summary.py", "predict.py")}
    metrics = checkout / "src/claimbench/evaluation/metrics.py"
    text = metrics.read_text()
    text = text.replace('"""', '"""Edited docstring. ', 1)  # the module docstring
    metrics.write_text("# a new comment\n\n" + text.replace("\n\n\n", "\n\n\n\n", 1))
    assert normalised_source(metrics) == normalised_source(ROOT / "src/claimbench/evaluation/metrics.py")
    assert {script: _version(checkout, script) for script in before} == before


def test_a_function_edit_changes_exactly_the_scripts_that_import_it(checkout):
    scripts = sorted(path.name for path in (checkout / "scripts").glob("*.py"))
    before = {script: _version(checkout, script) for script in scripts}
    metrics = checkout / "src/claimbench/evaluation/metrics.py"
    text = metrics.read_text()
    assert "def " in text
    metrics.write_text(text + "\n\ndef _added_by_the_test():\n    return 1\n")
    changed = {script for script in scripts if _version(checkout, script) != before[script]}
    assert {"evaluate_cases.py", "evaluate_summary.py", "evaluate_bootstrap.py"} <= changed
    assert not changed & {"predict.py", "finetune.py", "generate_synthetic.py", "split_encounters.py"}
    assert all("metrics.py" in str(code_version(checkout / "scripts" / s, checkout).files) for s in changed)


def test_a_data_file_named_by_the_code_counts(checkout):
    before = _version(checkout, "predict.py")
    prompts = checkout / "src/claimbench/data/prompts.yaml"
    prompts.write_text(prompts.read_text() + "\n# edited\n")
    assert _version(checkout, "predict.py") != before


def test_library_calls_name_the_functions_a_script_runs():
    assert library_calls(ROOT / "scripts/evaluate_summary.py") == ["claimbench.evaluation.pipeline.summarize"]
    assert "claimbench.cohort.figure1" in library_calls(ROOT / "scripts/cohort_figures.py")


def test_a_syntax_error_names_the_file(tmp_path):
    (tmp_path / "scripts").mkdir()
    (tmp_path / "src").mkdir()
    bad = tmp_path / "scripts" / "bad.py"
    bad.write_text("def broken(:\n")
    with pytest.raises(SyntaxError, match="bad.py"):
        code_version(bad, tmp_path)


def test_an_import_inside_a_function_counts_only_when_the_function_is_used(tmp_path):
    package = tmp_path / "src/claimbench"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "heavy.py").write_text("def score():\n    return 1\n")
    (package / "mod.py").write_text(
        "def light():\n    return 0\n\n\ndef uses_heavy():\n    from claimbench.heavy import score\n\n    return score()\n"
    )
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts/light.py").write_text("from claimbench.mod import light\n\nlight()\n")
    (tmp_path / "scripts/heavy.py").write_text("from claimbench.mod import uses_heavy\n\nuses_heavy()\n")
    light = code_version(tmp_path / "scripts/light.py", tmp_path).files
    heavy = code_version(tmp_path / "scripts/heavy.py", tmp_path).files
    assert "src/claimbench/mod.py" in light and "src/claimbench/heavy.py" not in light
    assert "src/claimbench/heavy.py" in heavy
