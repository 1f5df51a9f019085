"""No import runs from a lower layer of the library to a higher one.

Each module of src/claimbench belongs to the layer of its longest listed prefix; a module may import its own layer and
the layers below it, never one above (lazy imports inside functions count too). The layers, lowest first:
"""

from __future__ import annotations

import ast
from pathlib import Path

import claimbench

LAYERS = (
    # plain values and the machinery every stage shares
    ("claimbench", "claimbench.offline", "claimbench.atomic", "claimbench.logs", "claimbench.audit",
     "claimbench.codesets", "claimbench.claim"),
    # the data contract, the prompts and what a model is asked (task), claim parsing, retrieval and code hints
    ("claimbench.data", "claimbench.prompts", "claimbench.task", "claimbench.evaluation.parse", "claimbench.laterality",
     "claimbench.retrieval", "claimbench.lexicon"),
    # parse-time planning read by the rules: no heavy imports
    ("claimbench.plan",),
    ("claimbench.evaluation",),
    ("claimbench.models",),
    # prediction, and description-grounded coding (built on it; rule predict dispatches to it)
    ("claimbench.predict", "claimbench.grounding"),
    # the papers' stages and the query benchmark, built on prediction and evaluation
    ("claimbench.paper002", "claimbench.querybench", "claimbench.report", "claimbench.coding"),
    # entry points over everything
    ("claimbench.config_check", "claimbench.cli", "claimbench.__main__"),
)

SRC = Path(claimbench.__file__).parent


def layer_of(module: str) -> int:
    best, layer = "", None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best):
                best, layer = prefix, index
    if layer is None:
        raise AssertionError(f"{module} is in no layer of tests/test_layers.py: add it")
    return layer


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from claimbench.plan import scheduling" imports the module claimbench.plan.scheduling
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name == "claimbench" or name.startswith("claimbench.")}


def upward_imports() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        module = module_name(path)
        for target in sorted(imported(ast.parse(path.read_text(encoding="utf-8")))):
            if layer_of(target) > layer_of(module):
                found.append(f"{module} (layer {layer_of(module)}) imports {target} (layer {layer_of(target)})")
    return found


def test_no_import_runs_up_the_layers():
    assert upward_imports() == []


def test_the_check_sees_an_upward_import():
    tree = ast.parse("def f():\n    from claimbench.predict.run import predict_llm\n")
    assert [layer_of(t) for t in imported(tree)] == [layer_of("claimbench.predict")]
    assert layer_of("claimbench.predict.run") > layer_of("claimbench.models.finetune")
