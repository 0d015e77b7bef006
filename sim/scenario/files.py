"""Reading scenario files: TOML, ``extends`` chains, ``--set`` overrides, readable errors."""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.scenario.errors import ScenarioError, printable
from sim.scenario.schema import Scenario

MAX_SCENARIO_BYTES = 1 << 20  # a scenario is a few KiB; this refuses /dev/zero and pasted data
MAX_EXTENDS = 64  # files in one extends chain


def load_scenario(path: str | Path, overrides: list[str] | None = None, given_by: str = "--set") -> Scenario:
    """Read ``path`` (following ``extends``), validate it, then apply and validate the
    ``key.path=value`` overrides (``given_by`` names the options they came from in errors).
    A file that sets no ``name`` is named after itself."""
    path = Path(path)
    data = _read_with_extends(path, seen=())
    scenario = validate_scenario(data, source=str(path))
    if not overrides:
        return scenario
    for assignment in overrides:
        _apply_override(data, assignment, source="--set")
    return validate_scenario(data, source=f"{path} with {given_by}")


def validate_scenario(data: dict[str, Any], source: str = "<config>") -> Scenario:
    """Validate a plain dict; raise :class:`ScenarioError` listing every problem, one per line."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        lines = [printable(f"{source}: {_describe(err, data)}") for err in exc.errors()]
        raise ScenarioError("\n".join(lines)) from None


# Sections added after results were committed: hashed only where they differ from their
# defaults, so a scenario that leaves them off keeps the hash (and its runs' ids) it had.
LATER_SECTIONS = ("improvement",)


def config_hash(scenario: Scenario) -> str:
    """Stable short hash of a validated scenario (every value, defaults included; a section of
    :data:`LATER_SECTIONS` only where it differs from its defaults)."""
    data = scenario.model_dump(mode="json")
    for section in LATER_SECTIONS:
        if getattr(scenario, section) == type(getattr(scenario, section))():
            del data[section]
    blob = json.dumps(data, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def file_keys(path: str | Path) -> dict[str, str | None]:
    """Every key path the file chain at ``path`` sets (following ``extends``), mapped to the
    structure of the base file that sets it last (its own or inherited ``structure``), or to
    None where the file at ``path`` sets it itself."""
    chain: list[dict[str, Any]] = []
    _read_with_extends(Path(path), seen=(), chain=chain)
    keys: dict[str, str | None] = {}
    structure = Scenario.model_fields["structure"].default
    for depth, data in reversed(list(enumerate(chain))):  # the last base first
        structure = data.get("structure", structure)
        keys.update(dict.fromkeys(_leaf_keys(data, ""), structure if depth else None))
    return keys


def _leaf_keys(data: dict[str, Any], prefix: str) -> list[str]:
    keys = []
    for key, value in data.items():
        if isinstance(value, dict):
            keys += _leaf_keys(value, f"{prefix}{key}.")
        elif key != "extends":
            keys.append(f"{prefix}{key}")
    return keys


def _read_text(path: Path) -> str:
    """The text of the scenario file at ``path``: a regular file of at most
    ``MAX_SCENARIO_BYTES`` in UTF-8 (a directory, FIFO or device is refused, never read)."""
    try:  # non-blocking: opening a FIFO must not wait for a writer
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ScenarioError(f"{path}: file not found; give the path of a scenario .toml file") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = exc.strerror if isinstance(exc, OSError) else exc
        raise ScenarioError(f"{path}: cannot open ({reason}); give a readable scenario .toml file") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ScenarioError(f"{path}: not a regular file; give the path of a scenario .toml file")
    with os.fdopen(fd, "rb") as fh:
        try:
            data = fh.read(MAX_SCENARIO_BYTES + 1)
        except OSError as exc:
            raise ScenarioError(f"{path}: cannot read ({exc.strerror}); give a readable scenario .toml file") from None
    if len(data) > MAX_SCENARIO_BYTES:
        raise ScenarioError(
            f"{path}: larger than {MAX_SCENARIO_BYTES // 1024} KiB; a scenario file is a short TOML text"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not UTF-8 text (byte {exc.start}); save the scenario as UTF-8 TOML") from None


def _parse_toml(text: str, source: str) -> dict[str, Any]:
    """``text`` read as TOML; a syntax error or absurd nesting -> one-line ScenarioError."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML ({exc}); fix the syntax at that line") from None
    except RecursionError:
        raise ScenarioError(f"{source}: values nested too deeply; a scenario needs a few levels at most") from None


def _read_with_extends(path: Path, seen: tuple[Path, ...], chain: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    resolved = path.resolve()
    if resolved in seen:
        raise ScenarioError(f"{path}: extends: circular chain ({' -> '.join(str(p) for p in (*seen, resolved))})")
    if len(seen) >= MAX_EXTENDS:
        raise ScenarioError(f"{path}: extends: chain longer than {MAX_EXTENDS} files; extend a shallower base")
    data = _parse_toml(_read_text(path), str(path))
    if chain is not None:
        chain.append(dict(data))
    data.setdefault("name", path.stem)  # the extending file's own name wins in the merge
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ScenarioError(f'{path}: extends: must be a file path string, e.g. extends = "central_it.toml"')
    target = path.parent / parent
    if not target.is_file():
        raise ScenarioError(f"{path}: extends: {target} not found; give a path relative to {path.parent}/")
    base = _read_with_extends(target, seen=(*seen, resolved), chain=chain)
    return _merge(base, data)


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _apply_override(data: dict[str, Any], assignment: str, source: str) -> None:
    key, sep, raw = assignment.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ScenarioError(f"{source}: --set {assignment!r}: expected key.path=value, e.g. demand.arrival_rate=5")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    except RecursionError:
        raise ScenarioError(f"{source}: --set {key}: value nested too deeply") from None
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ScenarioError(f"{source}: --set {key}: {part!r} is a value, not a section")
        node = child
    node[parts[-1]] = value


def _describe(err: dict[str, Any], data: dict[str, Any]) -> str:
    loc = [str(p) for p in err["loc"]]
    key = ".".join(loc)
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        hint = difflib.get_close_matches(loc[-1], allowed, n=1)
        fix = f"did you mean {hint[0]!r}?" if hint else f"allowed keys: {', '.join(allowed)}"
        return f"{key}: unknown key; {fix}"
    message = err["msg"].removeprefix("Value error, ")
    if not loc:
        return message
    if err["type"] != "missing":
        message += f" (got {_lookup(data, loc)!r})"
    return f"{key}: {message}"


def _allowed_keys(loc: list[str]) -> list[str]:
    model: type[BaseModel] | None = Scenario
    for part in loc:
        if model is None or part.isdigit():
            continue
        annotation = model.model_fields[part].annotation if part in model.model_fields else None
        model = model_in(annotation)
    return sorted(model.model_fields) if model else []


def model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside a field annotation (e.g. ``tuple[Stage, ...]``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = model_in(arg)
        if found:
            return found
    return None


def _lookup(data: Any, loc: list[str]) -> Any:
    for part in loc:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list | tuple) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data
