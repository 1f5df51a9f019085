"""Check an extract against the data contract before a run: ``python -m claimbench.data.check FILE [REJECTS]``.

Prints the counts and the first rejected rows (file, row, field, reason); writes every rejection to REJECTS when
given. Exit status: 0 all records valid, 1 some rejected, 2 the file cannot be read (one line, no traceback).
"""

from __future__ import annotations

import sys

from claimbench.data.ingest import ExtractError, ingest, write_rejections


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    path = argv[0]
    try:
        result = ingest(path)
    except ExtractError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = result.summary(path)
    print(f"{path}: {summary['n_read']} read, {summary['n_accepted']} valid, {summary['n_rejected']} rejected")
    for rejection in result.rejections[:20]:
        print("  " + rejection.message(path))
    if len(result.rejections) > 20:
        print(f"  ... and {len(result.rejections) - 20} more")
    if len(argv) > 1:
        write_rejections(result, argv[1], path)
    return 1 if result.rejections else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
