"""``python -m claimbench``: the audit commands (claimbench.cli)."""

import sys

from claimbench.cli import main

sys.exit(main())
