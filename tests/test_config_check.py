"""A bad configuration stops the workflow before any job runs, with one line naming the key (and file and row)."""

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from claimbench import codesets
from claimbench.config_check import ConfigError, check_config
from claimbench.plan.finetune import deep_merge

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "config" / "schema.yaml"
DEFAULT = yaml.safe_load((ROOT / "config.yaml").read_text())
STUDY_EXTRAS = deep_merge(DEFAULT, yaml.safe_load((ROOT / "profiles/study/extras.yaml").read_text()))
CATALOG_HEADER = "# a licensed catalog\ncpt,description,first_year,last_year\n"


def check(change, base: dict = DEFAULT) -> str:
    config = copy.deepcopy(base)
    change(config)
    with pytest.raises(ConfigError) as error:
        check_config(config, SCHEMA, ROOT)
    message = str(error.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("profile", [None, "profiles/smoke/overrides.yaml", "profiles/study/extras.yaml"])
def test_shipped_configurations_pass(profile):
    config = deep_merge(DEFAULT, yaml.safe_load((ROOT / profile).read_text())) if profile else DEFAULT
    check_config(config, SCHEMA, ROOT)


@pytest.mark.parametrize("change, says", [
    (lambda c: c.update(seed="20240812"), "config key seed: '20240812' is not of type 'integer'"),
    (lambda c: c["predict"]["generation"].update(batch_size=8.5), "config key predict.generation.batch_size: 8.5"),
    (lambda c: c["finetune"]["training"].update(learning_rate="fast"), "config key finetune.training.learning_rate"),
    (lambda c: c["data"].update(max_note_chars=0), "config key data.max_note_chars: 0 is less than the minimum"),
    (lambda c: c["finetune"]["lora"].update(rank=8), "config key finetune.lora: Additional properties"),
    (lambda c: c["codesets"]["icd10cm_files"].update(FY2027="x.txt"), "config key codesets.icd10cm_files: 'FY2027'"),
])
def test_wrong_type_or_unknown_key_names_the_key(change, says):
    assert says in check(change)


@pytest.mark.parametrize("change, says", [
    (lambda c: c["configurations"]["base"].update(model="phi3"),
     "config key configurations.base.model: 'phi3' is not a key of `models`"),
    (lambda c: c["cohort"].update(tokenizer_model="nope"), "config key cohort.tokenizer_model: 'nope'"),
    (lambda c: c["querybench"].update(models=["smollm2", "llama"]), "config key querybench.models[1]: 'llama'"),
])
def test_unknown_model_key_names_the_key(change, says):
    assert says in check(change)


def test_finetuned_from_takes_its_sources_model():
    # the study extras' ft-mini+lexicon+grammar names no model: it is ft-mini+lexicon's, checked under finetuned_from
    assert "model" not in STUDY_EXTRAS["configurations"]["ft-mini+lexicon+grammar"]
    says = check(lambda c: c["configurations"]["ft-mini+lexicon"].update(model="phi3"), STUDY_EXTRAS)
    assert "config key configurations.ft-mini+lexicon.model: 'phi3' is not a key of `models`" in says
    # a qlora configuration of its own (no finetuned_from) must still name its model
    says = check(lambda c: c["configurations"]["ft-mini"].pop("model"))
    assert says.startswith("config key configurations.ft-mini: 'model' is a required property")


def test_configured_model_that_is_missing_names_the_key(tmp_path):
    def local(c):
        c["models"]["smollm2"]["source"] = {"path": str(tmp_path / "Phi-3-mini")}
    assert check(local).startswith(f"config key models.smollm2.source.path (used by configurations.base.model): "
                                    f"{tmp_path / 'Phi-3-mini'} holds no model")

    def no_package(c):
        c["models"]["gemma3-270m"]["source"] = {"package": "no_such_weights_package", "assemble": True}
    assert "models.gemma3-270m.source.package (used by configurations.ft-medium.model)" in check(no_package)

    def no_file(c):
        c["models"]["smollm2"]["source"]["file"] = "SmolLM2-1.7B.gguf"
    assert "models.smollm2.source.file" in check(no_file) and "'SmolLM2-1.7B.gguf' is not in package" in check(no_file)


@pytest.mark.parametrize("rows, says", [
    ("52000,cystoscopy,,\n5200,short code,,\n", "line 4: field 'cpt': '5200' is not a CPT code"),
    ("52000,cystoscopy,,\n52000,again,,\n", "line 4: field 'cpt': 52000 repeats line 3"),
    ("52000,,,\n", "line 3: field 'description': empty"),
    ("52000,cystoscopy,2019,twenty\n", "line 3: field 'last_year': 'twenty' is not a year (or blank)"),
    ("52000,cystoscopy,2023,2019\n", "line 3: field 'first_year': 2023 is after last_year 2019"),
])
def test_cpt_catalog_with_a_bad_row_names_file_and_row(tmp_path, rows, says):
    catalog = tmp_path / "cpt.csv"
    catalog.write_text(CATALOG_HEADER + rows)
    message = check(lambda c: c["codesets"].update(cpt_catalog=str(catalog)))
    assert message == f"config key codesets.cpt_catalog: {catalog} {says}"
    codesets._read_catalog.cache_clear()
    with pytest.raises(ValueError, match="line"):  # the stages that read the catalog refuse it too
        codesets.cpt_codes(path=catalog)


def test_other_files_config_names(tmp_path):
    catalog = tmp_path / "cpt.csv"
    catalog.write_text("code,text\n52000,cystoscopy\n")
    assert "column(s) ['cpt', 'description'] missing" in check(lambda c: c["codesets"].update(cpt_catalog=str(catalog)))
    modifiers = tmp_path / "modifiers.csv"
    modifiers.write_text("modifier,description\nRT,right\nRIGHT,right side\n")
    assert check(lambda c: c["codesets"].update(modifiers=str(modifiers))) == (
        f"config key codesets.modifiers: {modifiers} line 3: field 'modifier': 'RIGHT' is not a CPT modifier")
    assert check(lambda c: c["codesets"]["icd10cm_files"].update({2027: "codes/icd10cm_codes_2027.txt"})) == (
        "config key codesets.icd10cm_files.2027: codes/icd10cm_codes_2027.txt not found")
    assert check(lambda c: c["data"].update(source="extracts/hospital.parquet")) == (
        "config key data.source: extracts/hospital.parquet not found")
    assert "retrieval.embedder: folder" in check(lambda c: c["retrieval"].update(embedder=str(tmp_path / "minilm")))


def test_shipped_code_lists_pass_their_checks():
    codesets.check_cpt_catalog(codesets.DEMO_CPT_CATALOG)
    codesets.check_modifiers(codesets.DEMO_MODIFIERS)


@pytest.mark.workflow
def test_snakemake_stops_before_any_job_with_one_line(tmp_path):
    """The Snakefile runs the check first: one line on the console, exit status 1, nothing planned or run."""
    catalog = tmp_path / "cpt.csv"
    catalog.write_text(CATALOG_HEADER + "52000,cystoscopy,,\n5200,short code,,\n")
    overlay = tmp_path / "bad.yaml"
    overlay.write_text(yaml.safe_dump({"codesets": {"cpt_catalog": str(catalog)}}))
    snakemake = Path(sys.executable).with_name("snakemake")
    result = subprocess.run([str(snakemake), "-n", "--cores", "1", "--configfile", str(overlay)], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    lines = [line for line in (result.stdout + result.stderr).splitlines()
             if line.strip() and not line.startswith("Config file config.yaml is extended")]
    assert result.returncode == 1
    assert lines == [f"Configuration error: config key codesets.cpt_catalog: {catalog} line 4: field 'cpt': "
                     "'5200' is not a CPT code"]


def test_synthetic_years_need_code_sets(tmp_path):
    message = check(lambda c: c["data"]["synthetic"].update(years=[2017, 2024]))
    assert message.startswith("config key data.synthetic.years: [2017, 2024] needs FY2017-FY2025; no ICD-10-CM code "
                              "set for FY2017, FY2018: shipped are FY2019-FY2026")
    assert "FY2027" in check(lambda c: c["data"]["synthetic"].update(years=[2019, 2026]))  # 31 Dec 2026 is FY2027
    codes = {}
    for fy in (2017, 2018):
        codes[fy] = tmp_path / f"icd10cm_codes_{fy}.txt"
        codes[fy].write_text("K8020   Calculus of gallbladder without cholecystitis without obstruction\n")
    config = copy.deepcopy(DEFAULT)
    config["data"]["synthetic"]["years"] = [2017, 2024]
    config["codesets"]["icd10cm_files"] = {fy: str(path) for fy, path in codes.items()}
    check_config(config, SCHEMA, ROOT)
