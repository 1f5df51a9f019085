"""Turn a model shipped as a GGUF file inside a PyPI package into a plain safetensors folder, once, offline."""

from __future__ import annotations

from pathlib import Path

from claimbench.offline import package_dir, set_offline_env


def locate_gguf(source: dict, workdir: Path) -> tuple[Path, str]:
    """Folder and file name of a model's GGUF, from its config ``source`` entry.

    ``{package, file}`` names a file inside an installed package; ``{package, assemble: true}`` calls the package's
    ``assemble(output_path)`` to join a GGUF split over several part packages into ``workdir``.
    """
    if source.get("assemble"):
        import importlib

        module = importlib.import_module(source["package"])
        target = workdir / f"{source['package']}.gguf"
        if not target.exists():
            workdir.mkdir(parents=True, exist_ok=True)
            module.assemble(str(target))
        return target.parent, target.name
    folder = package_dir(source["package"])
    if not (folder / source["file"]).exists():
        raise FileNotFoundError(f"{folder / source['file']} not found in package {source['package']!r}")
    return folder, source["file"]


def convert_gguf(source: dict, out_dir: Path, workdir: Path) -> Path:
    """Dequantize the GGUF to fp32 and save model + tokenizer (+ chat template) with ``save_pretrained``."""
    set_offline_env()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = locate_gguf(source, workdir)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
    # The GGUF loader leaves a quantization config behind that save_pretrained refuses; the weights are dense now.
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer.remove_quantization_config(model)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir
