"""Where a result came from: package and library versions, git commit, platform."""

from __future__ import annotations

import platform
import subprocess
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

LIBRARIES = ("mesa", "numpy", "scipy", "pandas", "pydantic", "networkx")


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


@cache
def git_commit() -> str:
    """The commit of the checkout this package runs from (``unknown`` outside git)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip()


@cache
def environment() -> dict[str, str]:
    """Versions of OrgSim, Python and the numeric libraries, and the git commit."""
    info = {"orgsim": _version("orgsim"), "git_commit": git_commit(), "python": platform.python_version()}
    info.update({lib: _version(lib) for lib in LIBRARIES})
    return info
