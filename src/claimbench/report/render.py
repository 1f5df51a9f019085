"""Render report/report.qmd to self-contained HTML and to PDF.

With Quarto on PATH, Quarto renders it. Without it (Quarto's installer downloads a binary, which a machine with no
network cannot do), the same .qmd is rendered here: includes expanded, Python chunks executed in a Jupyter kernel
(nbclient), outputs turned back into Markdown, then pandoc (pypandoc-binary) writes self-contained HTML and Typst
source, and the ``typst`` package compiles the PDF. Chunk options honoured: ``#| fig-cap`` and ``#| echo``. Both
formats label tables and figures alike (labels.lua); the HTML page brings its own stylesheet and script
(claimbench.report.html_page).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from claimbench.atomic import fresh_partial, publish
from claimbench.report import html_page

INCLUDE = re.compile(r"^\{\{<\s*include\s+(\S+)\s*>\}\}\s*$", re.MULTILINE)
LABELS = Path(__file__).with_name("labels.lua")
PDF_TABLES = Path(__file__).with_name("pdf_tables.lua")
CHUNK = re.compile(r"^```\{python\}[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)


class ReportError(RuntimeError):
    pass


def expand_includes(text: str, base: Path, depth: int = 0) -> str:
    if depth > 10:
        raise ReportError("includes nested more than 10 deep")
    return INCLUDE.sub(lambda m: expand_includes((base / m.group(1)).read_text(), base, depth + 1), text)


def split_front_matter(text: str) -> tuple[dict, str]:
    if text.startswith("---\n"):
        end = text.index("\n---", 4)
        return yaml.safe_load(text[4:end]) or {}, text[end + 4 :].lstrip("\n")
    return {}, text


def chunk_options(code: str) -> dict:
    options = {}
    for line in code.splitlines():
        if not line.startswith("#|"):
            break
        key, _, value = line[2:].partition(":")
        options[key.strip()] = value.strip().strip('"')
    return options


def to_notebook(body: str):
    """Markdown and code cells, in order."""
    import nbformat

    cells, position = [], 0
    for match in CHUNK.finditer(body):
        if body[position : match.start()].strip():
            cells.append(nbformat.v4.new_markdown_cell(body[position : match.start()]))
        cells.append(nbformat.v4.new_code_cell(match.group(1)))
        position = match.end()
    if body[position:].strip():
        cells.append(nbformat.v4.new_markdown_cell(body[position:]))
    return nbformat.v4.new_notebook(cells=cells)


def _kernel_dir() -> Path:
    """A kernelspec that runs this very interpreter, whatever python is first on PATH."""
    root = Path(tempfile.mkdtemp(prefix="claimbench-kernel-"))
    spec = root / "kernels" / "claimbench"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "ClaimBench", "language": "python",
    }))
    return root


def execute(notebook, workdir: Path, timeout: int = 1800):
    from nbclient import NotebookClient

    kernels = _kernel_dir()
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(kernels), os.environ.get("JUPYTER_PATH")]))
    try:
        NotebookClient(notebook, kernel_name="claimbench", timeout=timeout, resources={"metadata": {"path": str(workdir)}}).execute()
    except Exception as exc:  # CellExecutionError carries the chunk's own traceback text
        raise ReportError(f"a report chunk failed:\n{exc}") from None
    finally:
        shutil.rmtree(kernels, ignore_errors=True)
    return notebook


def to_markdown(notebook, assets: Path) -> str:
    """Executed notebook -> Markdown with figures written under ``assets``."""
    assets.mkdir(parents=True, exist_ok=True)
    parts, figure = [], 0
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            parts.append(cell.source)
            continue
        options = chunk_options(cell.source)
        if options.get("echo") == "true":
            parts.append(f"```python\n{cell.source}\n```")
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and output.get("name") == "stdout":
                parts.append(f"```\n{output.text.rstrip()}\n```")
            elif output.output_type in ("display_data", "execute_result"):
                data = output.get("data", {})
                if "image/png" in data:
                    figure += 1
                    name = f"figure-{figure}.png"
                    (assets / name).write_bytes(base64.b64decode(data["image/png"]))
                    parts.append(f"![{options.get('fig-cap', '')}]({assets.name}/{name})")
                elif "text/markdown" in data:
                    parts.append(data["text/markdown"])
                elif "text/plain" in data and output.output_type == "display_data":
                    parts.append(f"```\n{data['text/plain']}\n```")
    return "\n\n".join(parts) + "\n"


def _pandoc(markdown: Path, out: Path, fmt: str, meta: dict, cwd: Path) -> None:
    import pypandoc

    args = ["--standalone", f"--resource-path={cwd}", "--toc", f"--lua-filter={LABELS}"]
    if fmt == "html":
        args.append("--embed-resources")
        args.extend(html_page.pandoc_args(cwd))
    if fmt == "typst":
        args.append("--variable=header-includes:#set figure(numbering: none)")  # labels.lua names them instead
        args.append("--variable=header-includes:#show figure: set block(breakable: true)")  # long tables may break
        args.append("--variable=header-includes:#show table: set text(size: 7pt)")  # wide tables fit the page
        args.append("--variable=header-includes:#show table: set par(justify: false)")  # no stretched narrow cells
        args.append(f"--lua-filter={PDF_TABLES}")  # columns sized to content; long names wrap
    for key in ("title", "subtitle", "date"):
        if meta.get(key):
            args.append(f"--metadata={key}:{meta[key]}")
    pypandoc.convert_file(str(markdown), fmt, format="markdown", outputfile=str(out), extra_args=args)


def render_fallback(qmd: Path, html_out: Path, pdf_out: Path, workdir: Path) -> None:
    meta, body = split_front_matter(expand_includes(qmd.read_text(), qmd.parent))
    notebook = execute(to_notebook(body), qmd.parent)
    workdir.mkdir(parents=True, exist_ok=True)
    markdown = workdir / "report.md"
    markdown.write_text(to_markdown(notebook, workdir / "assets"))
    html, pdf = fresh_partial(html_out), fresh_partial(pdf_out)
    _pandoc(markdown, html, "html", meta, workdir)
    typ = workdir / "report.typ"
    _pandoc(markdown, typ, "typst", meta, workdir)
    import typst

    typst.compile(str(typ), output=str(pdf), root=str(workdir), format="pdf")
    publish(pdf, pdf_out)  # each output appears whole or not at all (claimbench.atomic)
    publish(html, html_out)


def render_quarto(qmd: Path, html_out: Path, pdf_out: Path) -> None:
    for fmt, out in (("html", html_out), ("typst", pdf_out)):
        subprocess.run(["quarto", "render", str(qmd), "--to", fmt, "--output", out.name], check=True, cwd=qmd.parent)
        partial = fresh_partial(out)
        shutil.move(qmd.parent / out.name, partial)  # may cross filesystems: not atomic, so into .partial first
        publish(partial, out)


def render(qmd: str | Path, inputs: dict[str, str], html_out: str | Path, pdf_out: str | Path, workdir: str | Path,
           engine: str = "auto") -> str:
    """Render with Quarto if available (engine auto/quarto) else the fallback; returns the engine used."""
    qmd, html_out, pdf_out, workdir = (Path(p).resolve() for p in (qmd, html_out, pdf_out, workdir))
    workdir.mkdir(parents=True, exist_ok=True)
    manifest = workdir / "inputs.json"
    manifest.write_text(json.dumps({k: str(Path(v).resolve()) for k, v in inputs.items()}, indent=2))
    os.environ["CLAIMBENCH_REPORT_INPUTS"] = str(manifest)
    use_quarto = engine == "quarto" or (engine == "auto" and shutil.which("quarto"))
    if use_quarto:
        render_quarto(qmd, html_out, pdf_out)
        return "quarto"
    render_fallback(qmd, html_out, pdf_out, workdir)
    return "fallback"
