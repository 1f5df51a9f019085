"""``claimbench`` (or ``python -m claimbench``): audit a built report, and see how a run used its cores.

  claimbench items                       the report's item ids
  claimbench trace table2/base/icd10/f1  the item's value and the chain of files, rules, params and code versions
                                         down to the raw extract
  claimbench verify                      re-hash everything under the report; exit 1 naming what changed
  claimbench timeline [LOG]              wall time, job time, the share of the cores kept busy and when each long
                                         job ran (default: the newest Snakemake log of the checkout)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from claimbench.audit.timeline import format_timeline, newest_log, read_timeline
from claimbench.audit.trace import Audit, format_findings, format_trace


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="claimbench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=".", help="the checkout the workflow ran in (default: the current folder)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("items", help="list the report's item ids")
    trace = commands.add_parser("trace", help="an item's value and its chain down to the raw extract")
    trace.add_argument("item", help="e.g. table2/ft-medium/icd10/f1, table1/sex/F, figure1")
    commands.add_parser("verify", help="re-hash the files under the report; exit 1 if any changed")
    timeline = commands.add_parser("timeline", help="how a finished run used its cores (from Snakemake's log)")
    timeline.add_argument("log", nargs="?", help="a Snakemake log (default: the newest under ROOT/.snakemake/log)")
    timeline.add_argument("--min-seconds", type=float, default=60.0, help="list the jobs at least this long")
    args = parser.parse_args(argv)
    try:
        if args.command == "timeline":
            path = Path(args.log) if args.log else newest_log(args.root)
            print(format_timeline(read_timeline(path.read_text(encoding="utf-8").splitlines()), path,
                                  args.min_seconds))
            return 0
        audit = Audit(args.root)
        if args.command == "items":
            print("\n".join(item.id for item in audit.items()))
            return 0
        if args.command == "trace":
            item, nodes = audit.trace(args.item)
            print(format_trace(item, nodes, audit))
            return 0
        findings = audit.verify()
        print(format_findings(findings, audit))
        return 1 if findings else 0
    except (FileNotFoundError, KeyError, ValueError) as error:
        print(f"claimbench {args.command}: {error.args[0] if error.args else error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
