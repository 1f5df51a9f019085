"""Faults: a job killed part-way (SIGKILL: no handler runs, nothing is cleaned up) leaves no output that looks
finished, and its rerun ends where an uninterrupted run ends. Prediction resume is tested in tests/test_predict.py;
the workflow-level kill of the report render in tests/test_workflow.py."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import _finetune_tiny as tiny

TESTS = Path(__file__).resolve().parent
SRC = TESTS.parent / "src"

# The child runs one job; KILL_AT names where it SIGKILLs itself: in training (after a number of optimizer steps),
# while saving the adapter (after the first file is written), or while writing the report's PDF.
CHILD = r"""
import json, os, signal, sys
kill_at, job = sys.argv[1], json.loads(open(sys.argv[2]).read())

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if kill_at.startswith("step"):
    import transformers
    original = transformers.Trainer.training_step
    def training_step(self, *args, **kwargs):
        if self.state.global_step == int(kill_at[4:]):
            die()
        return original(self, *args, **kwargs)
    transformers.Trainer.training_step = training_step
elif kill_at == "save":
    import peft
    original = peft.PeftModel.save_pretrained
    def save_pretrained(self, directory, *args, **kwargs):
        original(self, directory, *args, **kwargs)
        die()  # the adapter's weights are on disk, the tokenizer and the stats are not
    peft.PeftModel.save_pretrained = save_pretrained
elif kill_at == "pdf":
    import typst
    def compile(source, output, **kwargs):
        open(output, "wb").write(b"%PDF-1.7 half a report")
        die()
    typst.compile = compile

if job.get("kind") == "report":
    from claimbench.report import render
    render.execute = lambda notebook, workdir: notebook  # no kernel: the chunks are not what is under test
    from pathlib import Path
    render.render_fallback(*(Path(p) for p in job["paths"]))
else:
    import torch
    torch.set_num_threads(1)
    from claimbench.models.finetune import run_finetune
    run_finetune(job)
"""


def run_child(kill_at: str, job: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    job_file = tmp_path / f"job-{kill_at}.json"
    job_file.write_text(json.dumps(job, default=str))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH")) if p)}
    return subprocess.run([sys.executable, "-c", CHILD, kill_at, str(job_file)], env=env, capture_output=True,
                          text=True, timeout=900)


@pytest.fixture(scope="module")
def finetune_job(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    model = tiny.save_model("llama", root / "model")
    train = tiny.write_train(root / "train.parquet", n=6)
    settings = tiny.default_settings(max_examples=6)
    settings["training"]["max_steps"] = 6

    def job(out: Path) -> dict:
        return {"configuration": "ft-test", "model": "tiny", "model_dir": str(model), "train": str(train),
                "adapter_dir": str(out / "adapter"), "stats": str(out / "train_stats.json"), "settings": settings,
                "seed": 3, "threads": 1}

    return job


def test_finetune_killed_part_way_reruns_to_the_same_adapter(finetune_job, tmp_path):
    uninterrupted = run_child("never", finetune_job(tmp_path / "whole"), tmp_path)
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-3000:]
    expected = load_file(tmp_path / "whole" / "adapter" / "adapter_model.safetensors")

    job = finetune_job(tmp_path / "killed")
    out = tmp_path / "killed"
    for kill_at in ("step3", "save"):
        killed = run_child(kill_at, job, tmp_path)
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
        # nothing that looks finished: no adapter folder, no statistics (Snakemake's outputs of rule finetune)
        assert not (out / "adapter").exists() and not (out / "train_stats.json").exists()
    assert (out / "adapter.partial" / "adapter_model.safetensors").exists()  # the save was under way

    rerun = run_child("never", job, tmp_path)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert not (out / "adapter.partial").exists()
    got = load_file(out / "adapter" / "adapter_model.safetensors")
    assert got.keys() == expected.keys() and all(torch.equal(got[k], expected[k]) for k in expected)
    stats = json.loads((out / "train_stats.json").read_text())
    assert stats["steps"] == 6
    assert sorted(p.name for p in (out / "adapter").iterdir()) == sorted(p.name for p in (tmp_path / "whole" / "adapter").iterdir())


def test_report_render_killed_while_writing_leaves_no_report(tmp_path):
    qmd = tmp_path / "report.qmd"
    qmd.write_text("---\ntitle: A report\n---\n\n# Results\n\nEvery number here.\n")
    html, pdf = tmp_path / "out" / "report.html", tmp_path / "out" / "report.pdf"
    job = {"kind": "report", "paths": [qmd, html, pdf, tmp_path / "build"]}

    killed = run_child("pdf", job, tmp_path)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert not html.exists() and not pdf.exists()  # the HTML was finished, but waits for the PDF beside it
    assert (tmp_path / "out" / "report.pdf.partial").read_bytes().startswith(b"%PDF-1.7 half")

    rerun = run_child("never", job, tmp_path)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert pdf.read_bytes()[:4] == b"%PDF" and b"half a report" not in pdf.read_bytes()
    assert "Every number here." in html.read_text()
    assert not list((tmp_path / "out").glob("*.partial"))
