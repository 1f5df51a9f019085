"""``claimbench`` (or ``python -m claimbench``): audit a built report.

  claimbench items                       the report's item ids
  claimbench trace table2/base/icd10/f1  the item's value and the chain of files, rules, params and code versions
                                         down to the raw extract
  claimbench verify                      re-hash everything under the report; exit 1 naming what changed
"""

from __future__ import annotations

import argparse
import sys

from claimbench.audit.trace import Audit, format_findings, format_trace


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="claimbench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=".", help="the checkout the workflow ran in (default: the current folder)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("items", help="list the report's item ids")
    trace = commands.add_parser("trace", help="an item's value and its chain down to the raw extract")
    trace.add_argument("item", help="e.g. table2/ft-medium/icd10/f1, table1/sex/F, figure1")
    commands.add_parser("verify", help="re-hash the files under the report; exit 1 if any changed")
    args = parser.parse_args(argv)
    try:
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
