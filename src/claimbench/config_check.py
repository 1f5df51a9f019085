"""The configuration checked before any job runs: one line naming the key (and the file and row) that is wrong.

The Snakefile calls ``check_config`` first thing, so a wrong type, a model name that is not configured, model weights
that are not where config says, or a CPT catalog with a bad row stop the run at once, not hours later in the job that
reads them. Light on purpose (parse time): jsonschema and the standard library only.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path

import jsonschema
import yaml

from claimbench.codesets import available_fiscal_years, check_cpt_catalog, check_modifiers, missing_code_set_hint
from claimbench.plan.methods import LLM_METHODS
from claimbench.plan.predict import model_of


class ConfigError(ValueError):
    """A configuration problem, as one line naming the key."""


def check_config(config: Mapping, schema: str | Path, workdir: str | Path = ".") -> None:
    """Raise ConfigError for the first problem: schema (types, names), model references, files config names.
    Relative paths in config are taken from ``workdir`` (Snakemake's working directory)."""
    workdir = Path(workdir)
    check_schema(config, schema)
    check_model_references(config)
    check_configuration_references(config)
    check_model_sources(config, workdir)
    check_files(config, workdir)
    check_synthetic_years(config)


def check_schema(config: Mapping, schema_path: str | Path) -> None:
    with open(schema_path, encoding="utf-8") as handle:
        schema = yaml.safe_load(handle)
    validator = jsonschema.validators.validator_for(schema)(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(_plain(config)))
    if error is not None:
        key = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        raise ConfigError(f"config key {key}: {error.message}")


def _plain(value):
    """Mapping keys as text (YAML reads ``2027:`` as an int, JSON Schema sees object keys as strings)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def used_models(config: Mapping) -> dict[str, str]:
    """Model name -> the config key that uses it: the LLM configurations, Figure 1's tokenizer, the query benchmark."""
    used = {}
    for name, entry in (config.get("configurations") or {}).items():
        if isinstance(entry, Mapping) and entry.get("method") in LLM_METHODS:
            key = "model" if entry.get("model") is not None else "finetuned_from"
            used.setdefault(model_of(config, name), f"configurations.{name}.{key}")
    if config.get("cohort", {}).get("tokenizer_model"):
        used.setdefault(config["cohort"]["tokenizer_model"], "cohort.tokenizer_model")
    finetuned = (config.get("querybench") or {}).get("finetuned") or {}
    for position, name in enumerate((config.get("querybench") or {}).get("models") or []):
        if name not in finetuned:
            used.setdefault(name, f"querybench.models[{position}]")
    return used


def check_model_references(config: Mapping) -> None:
    models = config.get("models") or {}
    for name, key in used_models(config).items():
        if name not in models:
            raise ConfigError(f"config key {key}: {name!r} is not a key of `models` (configured: {', '.join(models)})")


def check_configuration_references(config: Mapping) -> None:
    configurations = config.get("configurations") or {}
    for key in ("shifted_configurations", "whole_split_configurations"):
        for name in (config.get("predict") or {}).get(key) or ():
            if name not in configurations:
                raise ConfigError(f"config key predict.{key}: {name!r} is not a key of `configurations` "
                                  f"(configured: {', '.join(configurations)})")


def check_model_sources(config: Mapping, workdir: Path) -> None:
    """The weights of every used model are where config says: a local folder, or an installed package's file."""
    models = config.get("models") or {}
    for name, key in used_models(config).items():
        source = models[name]["source"]
        where = f"models.{name}.source"
        if "path" in source:
            folder = _resolve(source["path"], workdir)
            if not (folder / "config.json").is_file():
                raise ConfigError(f"config key {where}.path (used by {key}): {folder} holds no model (no config.json); "
                                  "copy the model's Hugging Face folder there")
        elif "package" in source:
            spec = importlib.util.find_spec(source["package"])
            if spec is None or not spec.submodule_search_locations:
                raise ConfigError(f"config key {where}.package (used by {key}): package {source['package']!r} is not "
                                  "installed; run ./setup.sh")
            if "file" in source:
                folder = Path(next(iter(spec.submodule_search_locations)))
                if not (folder / source["file"]).is_file():
                    raise ConfigError(f"config key {where}.file (used by {key}): {source['file']!r} is not in package "
                                      f"{source['package']!r} ({folder})")


def check_files(config: Mapping, workdir: Path) -> None:
    """Files config names: the extract, the code sets (each CPT catalog and modifier row checked), local models."""
    source = config["data"]["source"]
    if source != "synthetic" and not _resolve(source, workdir).is_file():
        raise ConfigError(f"config key data.source: {source} not found")
    codesets = config.get("codesets") or {}
    for fy, path in (codesets.get("icd10cm_files") or {}).items():
        if not _resolve(path, workdir).is_file():
            raise ConfigError(f"config key codesets.icd10cm_files.{fy}: {path} not found")
    for key, check in (("cpt_catalog", check_cpt_catalog), ("modifiers", check_modifiers)):
        if codesets.get(key):
            path = _resolve(codesets[key], workdir)
            if not path.is_file():
                raise ConfigError(f"config key codesets.{key}: {codesets[key]} not found")
            try:
                check(path)
            except ValueError as exc:
                raise ConfigError(f"config key codesets.{key}: {exc}") from None
    for key, folder in (("retrieval.embedder", (config.get("retrieval") or {}).get("embedder")),
                        ("querybench.bertscore.model_dir",
                         ((config.get("querybench") or {}).get("bertscore") or {}).get("model_dir"))):
        if folder and not _resolve(folder, workdir).is_dir():
            raise ConfigError(f"config key {key}: folder {folder} not found")


def check_synthetic_years(config: Mapping) -> None:
    """Synthetic surgery dates run from 1 January of the first year to 31 December of the last, i.e. FY first to
    FY last + 1: each needs an ICD-10-CM code set, or the generator could not code them."""
    if config["data"]["source"] != "synthetic":
        return
    years = (config["data"].get("synthetic") or {}).get("years")
    if not years:
        return
    available = available_fiscal_years((config.get("codesets") or {}).get("icd10cm_files"))
    missing = [fy for fy in range(int(years[0]), int(years[1]) + 2) if fy not in available]
    if missing:
        raise ConfigError(f"config key data.synthetic.years: {list(years)} needs FY{years[0]}-FY{int(years[1]) + 1}; "
                          f"no ICD-10-CM code set for {', '.join(f'FY{fy}' for fy in missing)}: "
                          f"{missing_code_set_hint(missing[0])}")


def _resolve(path: str, workdir: Path) -> Path:
    path = Path(path).expanduser()
    return path if path.is_absolute() else workdir / path
