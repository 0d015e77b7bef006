"""``python -m sim`` is the ``orgsim`` command."""

import sys

from sim.cli import main

sys.exit(main())
