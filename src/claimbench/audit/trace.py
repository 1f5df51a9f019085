"""Trace a report item down to the raw extract through the job records, and verify that nothing under the report
changed since it was built (``claimbench trace`` / ``claimbench verify``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from claimbench.audit.codeversion import code_version
from claimbench.audit.hashing import sha256_path
from claimbench.audit.items import CODED_PREFIX, Item, coded_item, find_item, report_items
from claimbench.audit.record import RECORDS, load_records

REPORT_RULE = "render_report"


@dataclass
class Node:
    path: str
    depth: int
    sha256: str | None  # as recorded when it was made (or, for a source file, when it was first used)
    kind: str
    record_file: str | None = None  # the job record of the rule that made it
    record: dict | None = None
    repeated: bool = False  # shown above already
    same_job: bool = False  # made by a job shown above (another output of it): its inputs are listed there


@dataclass
class Finding:
    kind: str  # changed | missing | stale | code
    path: str
    detail: str
    items: list[str] = field(default_factory=list)


def _mentions(path: str, name: str) -> bool:
    parts = Path(path).parts
    return name in parts or Path(path).name.split(".")[0] == name


class Audit:
    """The job records of a run in the checkout ``root`` (paths in records are relative to it)."""

    def __init__(self, root: str | Path = ".", inputs: dict[str, str] | None = None):
        """``inputs``: the report's inputs (name -> path) while it is being rendered, before its own record exists;
        otherwise they are read from the record of the render rule."""
        self.root = Path(root)
        self.index = {path: (file.relative_to(self.root).as_posix(), record)
                      for path, (file, record) in load_records(self.root / RECORDS).items()}
        self.report_file, self.report, self._items = None, None, None
        if inputs is not None:
            self.inputs = {name: Path(os.path.relpath(path, self.root)).as_posix() for name, path in inputs.items()}
            return
        reports = [(file, record) for file, record in self.index.values() if record["rule"] == REPORT_RULE]
        self.inputs = {}
        if reports:
            self.report_file, self.report = reports[0]
            self.inputs = {entry["name"]: entry["path"] for entry in self.report["inputs"] if entry["name"]}

    def _need_report(self) -> None:
        """A coded note traces without a report; everything else is the report's."""
        if self.report is None and not self.inputs:
            raise FileNotFoundError(
                f"{self.root / RECORDS}: no record of rule {REPORT_RULE}; build the report first (snakemake --cores all)"
            )

    # -- items ---------------------------------------------------------------------------------------------------
    def items(self) -> list[Item]:
        self._need_report()
        if self._items is None:
            self._items = report_items({name: str(self.root / path) for name, path in self.inputs.items()})
            for item in self._items:  # back to run-relative paths, as the records name them
                item.path = Path(item.path).relative_to(self.root).as_posix()
                item.data = [Path(path).relative_to(self.root).as_posix() for path in item.data]
        return self._items

    def item(self, item_id: str) -> Item:
        if item_id.startswith(CODED_PREFIX):
            return coded_item(item_id, self.root)
        items = {item.id: item for item in self.items()}
        if item_id in items:
            return items[item_id]
        return find_item(item_id, {name: str(self.root / path) for name, path in self.inputs.items()})  # raises

    def _configurations(self) -> set[str]:
        if self.report is None and not self.inputs:
            return set()
        return {item.focus for item in self.items() if item.focus}

    # -- the chain -----------------------------------------------------------------------------------------------
    def chain(self, paths: list[str], focus: str | None = None) -> list[Node]:
        """Depth-first from ``paths`` to the files nothing recorded made (the raw extract, packaged models)."""
        others = self._configurations() - {focus} if focus else set()
        nodes, seen, jobs = [], set(), set()

        def visit(path: str, depth: int, recorded: dict | None):
            made = self.index.get(path)
            entry = recorded
            if made:
                entry = next(item for item in made[1]["outputs"] if item["path"] == path)
            node = Node(path, depth, (entry or {}).get("sha256"), (entry or {}).get("kind", "file"),
                        record_file=made[0] if made else None, record=made[1] if made else None,
                        repeated=path in seen)
            nodes.append(node)
            if node.repeated or not made:
                return
            seen.add(path)
            node.same_job = made[0] in jobs
            jobs.add(made[0])
            if node.same_job:
                return
            for item in made[1]["inputs"]:
                if focus and any(_mentions(item["path"], name) for name in others) and not _mentions(item["path"], focus):
                    continue  # another configuration's file: not under this item
                visit(item["path"], depth + 1, item)

        consumed = {entry["path"]: entry for entry in (self.report or {}).get("inputs", [])}
        for path in paths:
            visit(path, 0, consumed.get(path))
        return nodes

    def trace(self, item_id: str) -> tuple[Item, list[Node]]:
        item = self.item(item_id)
        return item, self.chain([item.path, *item.data], item.focus)

    # -- verify --------------------------------------------------------------------------------------------------
    def verify(self) -> list[Finding]:
        """Re-hash every file under the report; name each that changed and the items that depend on it."""
        self._need_report()
        nodes = self.chain([entry["path"] for entry in self.report["inputs"]])
        findings, hashed = [], {}
        for node in nodes:
            if node.repeated or node.path in hashed:
                continue
            file = self.root / node.path
            hashed[node.path] = sha256_path(file) if file.exists() else None
            if hashed[node.path] is None:
                findings.append(Finding("missing", node.path, "no longer exists"))
            elif node.sha256 and hashed[node.path] != node.sha256:
                findings.append(Finding("changed", node.path, f"sha256 {hashed[node.path]} (recorded {node.sha256})"))
        for file, record in self._records(nodes):
            for entry in record["inputs"]:
                made = self.index.get(entry["path"])
                if made:
                    sha = next(item for item in made[1]["outputs"] if item["path"] == entry["path"])["sha256"]
                    if sha != entry["sha256"]:
                        findings.append(Finding("stale", entry["path"], f"{file} recorded sha256 {entry['sha256']}, "
                                                f"{made[0]} {sha}: one job ran again after the other; rerun the "
                                                "workflow"))
            code = record.get("code") or {}
            if code.get("script") and (self.root / code["script"]).exists():
                sources = [self.root / source for source in code.get("sources", [])]
                now = code_version(self.root / code["script"], self.root, sources).version
                if now != code.get("version"):
                    for entry in record["outputs"]:
                        findings.append(Finding("code", entry["path"], f"rule {record['rule']}: code version {now} "
                                                f"now, {code.get('version')} when it ran ({code['script']})"))
        self._attach_items(findings)
        return findings

    def _records(self, nodes: list[Node]):
        seen = set()
        for node in nodes:
            if node.record_file and node.record_file not in seen:
                seen.add(node.record_file)
                yield node.record_file, node.record

    def _attach_items(self, findings: list[Finding]) -> None:
        if not findings:
            return
        under = {item.id: {node.path for node in self.chain([item.path, *item.data], item.focus)}
                 for item in self.items()}
        for finding in findings:
            finding.items = [item_id for item_id, paths in under.items() if finding.path in paths]


# -- text ----------------------------------------------------------------------------------------------------------
def _short(value, width: int = 160) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def made_by(record: dict) -> str:
    """One line: rule -> script -> library functions, with the code version."""
    code = record.get("code") or {}
    wildcards = ",".join(f"{key}={value}" for key, value in record.get("wildcards", {}).items())
    calls = ", ".join(code.get("calls", [])) or "?"
    return (f"rule {record['rule']}{f'[{wildcards}]' if wildcards else ''} -> {code.get('script', '?')} -> {calls} "
            f"(code {code.get('version', '?')})")


def format_trace(item: Item, nodes: list[Node], audit: Audit) -> str:
    report = audit.report
    lines = [f"{item.id} = {item.value}"]
    if item.id.startswith(CODED_PREFIX):
        lines.append(f"  read from {item.path} (a coded note, not a report item)")
    else:
        git = report.get("git") or {}
        lines.append(f"  read from {item.path} by the report ({made_by(report)}, built {report['end']}, "
                     f"git {git.get('commit')}{' dirty' if git.get('dirty') else ''}, "
                     f"environment lock sha256 {(report.get('environment') or {}).get('lock_sha256')})")
    for node in nodes:
        pad = "  " * (node.depth + 1)
        head = f"{pad}{node.path} [{node.kind}] sha256 {node.sha256}"
        if node.repeated:
            lines.append(f"{head} (see above)")
            continue
        lines.append(head)
        if not node.record:
            lines.append(f"{pad}  source file: no rule of the workflow made it")
            continue
        record = node.record
        git = record.get("git") or {}
        if node.same_job:
            lines.append(f"{pad}  <- the same job as above: {made_by(record)}")
            continue
        lines.append(f"{pad}  <- {made_by(record)}")
        lines.append(f"{pad}     ran {record['start']} .. {record['end']}, threads {record.get('threads')}, "
                     f"git {git.get('commit')}{' dirty' if git.get('dirty') else ''}; record {node.record_file}")
        if record.get("seeds"):
            lines.append(f"{pad}     seeds {_short(record['seeds'])}")
        for name, value in (record.get("params") or {}).items():
            lines.append(f"{pad}     param {name} = {_short(value)}")
        if not record["inputs"]:
            lines.append(f"{pad}     (made from its params alone: the start of the chain)")
    return "\n".join(lines)


def format_findings(findings: list[Finding], audit: Audit) -> str:
    if not findings:
        n_files = len({node.path for node in audit.chain([e["path"] for e in audit.report["inputs"]])})
        return (f"verify: OK: {n_files} files under the report ({audit.report_file}) match their recorded sha256, "
                "and every rule's code version is the one that ran")
    lines = [f"verify: {len(findings)} problem(s) under the report ({audit.report_file}):"]
    for finding in findings:
        lines.append(f"  {finding.kind}: {finding.path}: {finding.detail}")
        lines.append(f"    items that depend on it: {_item_list(finding.items, audit)}")
    return "\n".join(lines)


def _item_list(item_ids: list[str], audit: Audit) -> str:
    """Item ids, each group that is hit whole written once: ``table2/ft-mini/* (19)``, ``figure3``."""
    if not item_ids:
        return "none"
    every = [item.id for item in audit.items()]
    chosen, parts, done = set(item_ids), [], set()
    for item_id in every:
        if item_id not in chosen or item_id in done:
            continue
        steps = item_id.split("/")
        for depth in range(1, len(steps) + 1):  # the widest prefix whose items are all hit
            prefix = "/".join(steps[:depth])
            group = [other for other in every if other == prefix or other.startswith(prefix + "/")]
            if all(other in chosen for other in group):
                parts.append(item_id if len(group) == 1 else f"{prefix}/* ({len(group)})")
                done.update(group)
                break
    return ", ".join(parts)
