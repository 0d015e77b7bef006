"""``python -m sim`` is the ``orgsim`` command."""

from sim.cli import console

console()
