"""``claimbench`` (or ``python -m claimbench``): code new notes, audit a built report, and see how a run used its cores.

  claimbench code NOTES --configuration NAME [-o claims.jsonl]
                                         code a file of new operative notes with a configuration of the finished
                                         run (claimbench.coding); also .csv, .html, .meta.json beside the claims

  claimbench items                       the report's item ids
  claimbench trace table2/base/icd10/f1  the item's value and the chain of files, rules, params and code versions
                                         down to the raw extract (also a coded note: coded/<configuration>/<id>)
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
    code = commands.add_parser("code", help="code new operative notes with a configuration of the finished run")
    code.add_argument("notes", help="JSONL, CSV or Parquet: encounter_id, op_note, surgery_date "
                                    "[, service, patient_age, patient_sex]")
    code.add_argument("--configuration", required=True, help="e.g. grounded+evidence, or knn")
    code.add_argument("--run", default=None, help="the checkout of the finished run (default: --root)")
    code.add_argument("-o", "--output", default=None,
                      help="the claims file (default: RUN/results/coded/<configuration>/claims.jsonl)")
    commands.add_parser("items", help="list the report's item ids")
    trace = commands.add_parser("trace", help="an item's value and its chain down to the raw extract")
    trace.add_argument("item", help="e.g. table2/ft-medium/icd10/f1, table1/sex/F, figure1")
    commands.add_parser("verify", help="re-hash the files under the report; exit 1 if any changed")
    timeline = commands.add_parser("timeline", help="how a finished run used its cores (from Snakemake's log)")
    timeline.add_argument("log", nargs="?", help="a Snakemake log (default: the newest under ROOT/.snakemake/log)")
    timeline.add_argument("--min-seconds", type=float, default=60.0, help="list the jobs at least this long")
    args = parser.parse_args(argv)
    if args.command == "code":
        return _code(args)
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


def _code(args) -> int:
    import logging

    from claimbench.coding.notes import code_notes, write_provenance
    from claimbench.coding.run import Refusal

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    run = args.run or args.root
    try:
        result = code_notes(args.notes, args.configuration, run, args.output)
        write_provenance(result, args.configuration, args.notes, run)
    except Refusal as refusal:
        print(f"claimbench code: {refusal}", file=sys.stderr)
        return 2
    summary = result.summary
    fabricated = sum(not code["valid"] for claim in result.claims for code in claim["icd10"])
    print(f"{len(result.claims)} note(s) coded with {args.configuration} -> {result.out} (.csv, .html); "
          f"{summary['n_rejected']} rejected -> {result.out.with_suffix('.rejected.jsonl')}; "
          f"{sum(not c['parsed'] for c in result.claims)} answer(s) without a claim; {fabricated} fabricated "
          "ICD-10-CM code(s)" + (f"; dropped field(s) outside the contract: {', '.join(summary['fields_dropped'])}"
                                 if summary["fields_dropped"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
