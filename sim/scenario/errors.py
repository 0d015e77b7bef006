"""The errors the CLI turns into one line (cheap to import: the CLI catches them)."""


def printable(text: str) -> str:
    """``text`` with control characters (which would break or hide a line) written as escapes."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


class ScenarioError(ValueError):
    """A scenario that cannot be used; each line of the message names file, key and fix."""


class Terminated(KeyboardInterrupt):
    """SIGTERM: handled like Ctrl-C (work stops, results so far kept), reported as exit 143."""


class WorkLost(RuntimeError):
    """A sweep lost its workers or its Dask scheduler; the runs recorded so far are kept."""
