"""``python -m svcflow``: the same command line as ``svcflow``."""

import sys

from svcflow.cli import main

sys.exit(main())
