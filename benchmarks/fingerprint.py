"""A fingerprint of what the shipped scenarios produce: SHA-256 of the summary, the tick series
and the item table, per scenario and seed. A change that must keep results bit-identical
(a refactor, a speed-up) prints the same lines before and after:

    .venv/bin/python -m benchmarks.fingerprint > before.txt   # on the old commit
    .venv/bin/python -m benchmarks.fingerprint | diff before.txt -
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

SCENARIOS = [
    "scenarios/central_it.toml",
    "scenarios/micro_provider.toml",
    "scenarios/validation/mmc.toml",
    "scenarios/validation/bass.toml",
    "scenarios/tutorial/slow_handoffs.toml",
    *sorted(str(p) for p in Path("scenarios/operating").glob("*.toml")),
]


def digest(result) -> str:
    """The first 16 hex digits of the SHA-256 of a run's summary, tick series and item table."""
    sha = hashlib.sha256()
    sha.update(json.dumps(result.summary, sort_keys=True, default=str).encode())
    sha.update(result.series.to_csv(index=False).encode())
    sha.update(result.items.to_csv(index=False).encode())
    return sha.hexdigest()[:16]


def fingerprint(path: str, seed: int, ticks: int | None) -> str:
    """One line: the scenario, the seed and the hash of everything its run produced."""
    from sim import load_scenario, run_scenario

    overrides = [f"simulation.ticks={ticks}"] if ticks else []
    return f"{path} seed={seed} {digest(run_scenario(load_scenario(path, overrides), seed=seed))}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--ticks", type=int, default=0, help="run length (default 0: each scenario's own)")
    args = parser.parse_args()
    for path in SCENARIOS:
        for seed in args.seeds:
            print(fingerprint(path, seed, args.ticks or None), flush=True)


if __name__ == "__main__":
    main()
