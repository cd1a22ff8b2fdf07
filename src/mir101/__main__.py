"""``python -m mir101`` is the ``mir101`` command."""

import sys

from mir101.cli import main

sys.exit(main())
