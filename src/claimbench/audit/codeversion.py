"""The code version of a rule: one hash over its script, the claimbench modules the script imports (transitively)
and the package data files those modules name.

Python sources are hashed as their syntax tree without docstrings and positions, so an edit to a comment, a
docstring or the layout leaves the version unchanged, and any edit to what the code does changes it. Imports are
found statically: every module-level ``import``, and an import inside a function when anything in the closure refers
to that function by name (a module imported on one branch still counts, while a module that imports the evaluation
inside one function does not tie every user of its other functions to the evaluation). Data files
(``prompts.yaml``, the paper's CSVs) count when a module's string constants name them (``"data/prompts.yaml"``,
``f"data/paper003_{name}.csv"``). A rule may name further sources whose imports count: the report's ``.qmd`` files,
whose Python chunks import the library. The job recorder (``claimbench.audit.record`` and what it uses) is left out:
it observes jobs and cannot change their outputs.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "claimbench"
# The job recorder, which every script starts and which cannot change what a rule computes: left out, so that
# improving the records does not rerun the whole workflow.
OBSERVERS = ("claimbench.audit.record", "claimbench.audit.hashing", "claimbench.audit.codeversion")
QMD_CHUNK = re.compile(r"^```\{python\}[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
_DOCSTRING_HOLDERS = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class CodeVersion:
    version: str  # 16 hex digits of sha256 over ``files``
    files: dict[str, str]  # path relative to the checkout -> sha256 of its normalised content


def code_version(script: str | os.PathLike, root: str | os.PathLike, sources=()) -> CodeVersion:
    """The version of ``script`` (a rule's script) in the checkout at ``root`` (its library is ``root/src``);
    ``sources``: further files the job runs code from (``.qmd``)."""
    root, script = Path(root).resolve(), Path(script).resolve()
    src = root / "src"
    start = {script, *(Path(source).resolve() for source in sources)}
    files = set(start)
    while True:  # to a fixed point: new files may refer to functions whose imports then count
        referenced = set().union(*(_analyse(path).names for path in files))
        found = {
            imported for path in files
            for imported in _imported_files(path, None if path in start else _module_name(path, src), src, referenced)
        }
        if found <= files:
            break
        files |= found
    hashes = {_relative(path, root): _analyse(path).digest for path in files}
    hashes.update({_relative(path, root): _bytes_hash(path) for path in _named_data_files(files, src)})
    digest = hashlib.sha256("".join(f"{name}\0{value}\n" for name, value in sorted(hashes.items())).encode())
    return CodeVersion(version=digest.hexdigest()[:16], files=dict(sorted(hashes.items())))


def normalised_source(path: str | os.PathLike) -> str:
    """The module's syntax tree without docstrings or line numbers: what the code does, not how it is laid out."""
    tree = _parse(Path(path))
    for node in ast.walk(tree):
        if isinstance(node, _DOCSTRING_HOLDERS) and node.body and _is_docstring(node.body[0]):
            node.body = node.body[1:] or [ast.Pass()]
    return ast.dump(tree, include_attributes=False)


@dataclass(frozen=True)
class _Analysis:
    """What one source file contributes: its normalised hash, its imports and the strings that may name data."""

    digest: str
    # (module, relative level, names, enclosing function or None); `import a.b` -> (a.b, 0, (), None)
    imports: tuple[tuple[str, int, tuple[str, ...], str | None], ...]
    names: frozenset[str]  # identifiers the code refers to (names, attributes, imported names)
    strings: frozenset[str]
    prefixes: frozenset[str]  # constant heads of f-strings' last path part, e.g. "paper003_"


_ANALYSES: dict[tuple[str, int, int], _Analysis] = {}  # by (path, mtime, size): the Snakefile asks for ~30 scripts


def _analyse(path: Path) -> _Analysis:
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _ANALYSES:
        tree = _parse(path)
        owner = {}  # import node -> the innermost function around it
        for function in ast.walk(tree):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(function):
                    if isinstance(node, (ast.Import, ast.ImportFrom)):
                        owner[node] = function.name  # walk goes outside-in, so the innermost one is set last
        imports, names, strings, prefixes = [], set(), set(), set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imports += [(alias.name, 0, (), owner.get(node)) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                imported = tuple(alias.name for alias in node.names)
                imports.append((node.module or "", node.level, imported, owner.get(node)))
                names.update(imported)
            elif isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.JoinedStr):
                prefixes.update(value.value.rsplit("/", 1)[-1] for value in node.values
                                if isinstance(value, ast.Constant) and isinstance(value.value, str))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                strings.add(node.value)
        _ANALYSES[key] = _Analysis(
            digest=hashlib.sha256(normalised_source(path).encode()).hexdigest(),
            imports=tuple(imports),
            names=frozenset(names),
            strings=frozenset(strings),
            prefixes=frozenset(prefix for prefix in prefixes if len(prefix) >= 4),
        )
    return _ANALYSES[key]


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _parse(path: Path) -> ast.Module:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".qmd":  # a Quarto document: its Python chunks, in order
        text = "\n".join(chunk.group(1) for chunk in QMD_CHUNK.finditer(text))
    try:
        return ast.parse(text, filename=str(path))
    except SyntaxError as error:
        raise SyntaxError(f"{path}: cannot compute its code version: {error}") from error


def _bytes_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_file(name: str, src: Path) -> Path | None:
    base = src.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _with_parents(name: str, src: Path) -> list[Path]:
    """The module's file and every package ``__init__`` above it (importing a.b.c runs a and a.b first)."""
    parts = name.split(".")
    found = [_module_file(".".join(parts[:i]), src) for i in range(1, len(parts) + 1)]
    return [path for path in found if path is not None]


def _imported_files(path: Path, module: str | None, src: Path, referenced: set[str]) -> list[Path]:
    """Files of the claimbench modules ``path`` imports; ``module`` is its dotted name (None for a script). An import
    inside a function counts only when something in the closure refers to that function (``referenced``): a module
    that imports the evaluation inside one function does not tie every user of its other functions to it."""
    is_package = path.name == "__init__.py"
    names = []
    for base, level, imported, function in _analyse(path).imports:
        if function is not None and function not in referenced:
            continue
        if level:  # relative: resolved against the importing module's package
            if module is None:
                continue
            package = module.split(".") if is_package else module.split(".")[:-1]
            package = package[: len(package) - (level - 1)]
            base = ".".join(package + ([base] if base else []))
        names.append(base)
        names += [f"{base}.{name}" for name in imported]  # `from pkg import submodule`
    found = []
    for name in names:
        if (name == PACKAGE or name.startswith(PACKAGE + ".")) and not name.startswith(OBSERVERS):
            found += _with_parents(name, src)
    return found


def _named_data_files(files: set[Path], src: Path) -> set[Path]:
    """Package data files (not Python) that the string constants of ``files`` name."""
    candidates = [path for path in (src / PACKAGE).rglob("*")
                  if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts]
    strings = set().union(*(_analyse(path).strings for path in files))
    prefixes = set().union(*(_analyse(path).prefixes for path in files))
    return {
        path for path in candidates
        if any(path.name in text for text in strings) or any(path.name.startswith(prefix) for prefix in prefixes)
    }


def add_code_versions(workflow) -> None:
    """Add params ``code`` = {script, version} to every scripted rule of a Snakemake workflow (the Snakefile calls
    this once, after every rule is defined). Snakemake's params trigger then reruns exactly the rules whose code
    changed, and what follows them; the job's provenance record lists the files behind the version."""
    root = workflow.basedir
    for rule in workflow.rules:
        if rule.script:
            script = os.path.relpath(os.path.join(rule.basedir.get_path_or_uri(secret_free=True), rule.script), root)
            sources = code_sources(rule)
            version = code_version(os.path.join(root, script), root, [os.path.join(root, s) for s in sources]).version
            rule.set_params(code={"script": script, "sources": sources, "version": version})


def code_sources(rule) -> list[str]:
    """The ``.qmd`` files among a rule's inputs (plain paths only): the report's chunks run library code too."""
    return sorted(str(path) for path in rule.input if isinstance(path, str) and str(path).endswith(".qmd"))


def library_calls(script: str | os.PathLike) -> list[str]:
    """The claimbench functions a script calls (``claimbench.evaluation.pipeline.summarize``): its "made by" line."""
    tree = _parse(Path(script))
    imported = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE) and not node.level:
            for alias in node.names:
                imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    called = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id in imported:
            called.append(imported[node.func.id])
        elif (isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
              and node.func.value.id in imported):  # `from claimbench import cohort` ... cohort.figure1(...)
            called.append(f"{imported[node.func.value.id]}.{node.func.attr}")
    skip = {"claimbench.logs.redirect_to_log"}  # every script's first line, not what it computes
    return [name for name in dict.fromkeys(called) if name not in skip]
