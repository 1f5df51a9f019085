"""Check an extract against the data contract before a run:
``python -m claimbench.data.check FILE [REJECTS] [--config config.yaml]``.

Prints the counts and the first rejected rows (file, row, field, reason); writes every rejection to REJECTS when
given. ``--config`` reads ``codesets.icd10cm_files`` (fiscal years beyond the shipped code sets) and
``data.max_note_chars`` from a configuration file, as the workflow does. Exit status: 0 all records valid,
1 some rejected, 2 the file cannot be read or holds no records (one line, no traceback).
"""

from __future__ import annotations

import argparse
import sys

import yaml

from claimbench.data.contract import Contract
from claimbench.data.ingest import ingest, write_rejections
from claimbench.data.readers import ExtractError


def contract_from_config(path: str | None) -> Contract:
    if not path:
        return Contract()
    with open(path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle) or {}
    return Contract.from_config((config.get("codesets") or {}).get("icd10cm_files"),
                                (config.get("data") or {}).get("max_note_chars"))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m claimbench.data.check", description=__doc__.strip().splitlines()[0])
    parser.add_argument("extract")
    parser.add_argument("rejects", nargs="?")
    parser.add_argument("--config", help="a workflow configuration (config.yaml) to read code sets and limits from")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    path = args.extract
    try:
        result = ingest(path, contract_from_config(args.config))
    except (ExtractError, OSError, yaml.YAMLError) as exc:
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    summary = result.summary(path)
    print(f"{path}: {summary['n_read']} read, {summary['n_accepted']} valid, {summary['n_rejected']} rejected")
    for rejection in result.rejections[:20]:
        print("  " + rejection.message(path))
    if len(result.rejections) > 20:
        print(f"  ... and {len(result.rejections) - 20} more")
    if args.rejects:
        write_rejections(result, args.rejects, path)
    return 1 if result.rejections else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
