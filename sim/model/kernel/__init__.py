"""The compiled kernel: the work flow of a run in flat arrays, compiled with Numba.

``flow`` holds the rules of the work flow, ``knowledge`` what the teams know of the
services (learned, forgotten), ``arrivals`` the demand stream, ``ticks`` the tick (arrivals,
spread, its end) and stretches of ticks, ``heaps`` the event heap and the pools' queues,
``state`` the arrays and how they grow, ``generator`` the random generator as the rules
are passed it, ``records`` the busy time per tick, ``engine`` the model's side (building the
state, running it, reading the results back).

Numba's cache is checked against each function's own file only, so a function compiled
with an older copy of a rule it calls from another file would be loaded as it was. The
compiled functions are therefore cached under a folder named by a digest of every source
file of the kernel and of the modules whose constants it compiles in (the kinds of work,
the improvement factors): any change to any of them compiles afresh. Each version's cache
takes about 60 MB, so when a new version is first imported the caches of all but the
``KEPT_VERSIONS`` most recently written other versions (other checkouts, branches) are
removed. ``NUMBA_CACHE_DIR``, when set, is used as it is, and nothing is removed."""

import hashlib
import os
import shutil
from pathlib import Path

from numba.core import config

_HERE = Path(__file__).parent
KEPT_VERSIONS = 3


def _cache_dir() -> Path:
    sources = [*sorted(_HERE.glob("*.py")), _HERE.parent / "work.py", _HERE.parent / "improvement.py"]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:16]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "orgsim" / f"kernel-{digest}"


def _prune(current: Path) -> None:
    """Remove the caches of other kernel versions beyond the ``KEPT_VERSIONS`` most recently
    written (once, when ``current`` is new)."""
    if current.exists():
        return
    others = []
    for path in current.parent.glob("kernel-*"):
        try:
            others.append((path.stat().st_mtime, path))
        except OSError:  # another process removed it meanwhile
            continue
    for _, path in sorted(others, reverse=True)[KEPT_VERSIONS:]:
        shutil.rmtree(path, ignore_errors=True)


if not os.environ.get("NUMBA_CACHE_DIR"):
    _current = _cache_dir()
    _prune(_current)
    _previous, config.CACHE_DIR = config.CACHE_DIR, str(_current)
    from sim.model.kernel import arrivals, flow, heaps, knowledge, records, state, ticks  # noqa: F401  (compiled functions find their cache here)

    config.CACHE_DIR = _previous
