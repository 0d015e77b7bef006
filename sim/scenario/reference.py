"""The scenario reference, generated from the validation schema (JSON Schema and Markdown)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.scenario.applicability import ONE_STRUCTURE, scope_of
from sim.scenario.schema import Scenario

BOUNDS = (
    (annotated_types.Ge, "ge", ">="),
    (annotated_types.Gt, "gt", ">"),
    (annotated_types.Le, "le", "<="),
    (annotated_types.Lt, "lt", "<"),
)


def json_schema() -> str:
    """The JSON Schema of a scenario file, for editors that check and complete TOML."""
    schema = Scenario.model_json_schema()
    schema["properties"]["extends"] = {
        "type": "string",
        "description": "Path of a scenario file this one extends (relative to this file).",
    }
    return json.dumps(schema, indent=2)


def reference_rows() -> Iterator[tuple[str, str, str, str, str, str]]:
    """(key, type, default, allowed, meaning, applies to) for every scenario key, depth first."""
    yield (
        "extends",
        "string",
        "none",
        "a scenario file path",
        "Scenario this file extends; its values are the defaults.",
        "both",
    )
    for row in _rows(Scenario, ""):
        scope = scope_of(row[0])
        yield (*row, scope.label() if scope else "both")


def markdown() -> str:
    """``docs/scenarios.md``: every scenario key with type, default, range and meaning."""
    lines = [
        "# Scenario reference",
        "",
        "Generated from the validation schema by `orgsim schema --markdown > docs/scenarios.md`;",
        "a test fails when this file is stale. Keys are dotted paths: `demand.effort.mean_days`",
        "is `mean_days` in the `[demand.effort]` table, and the same path works with",
        '`--set demand.effort.mean_days=2`. Unknown keys are errors. "applies to" names the',
        "structures under which a key can change a run: `run`, `compare` and `sweep` say on stderr",
        "when a key given in the scenario chain or by `--set`/`--grid` has no effect under the",
        "structure being run (a base file's keys for the structure it runs are not reported).",
        "",
        "| key | type | default | allowed | meaning | applies to |",
        "|---|---|---|---|---|---|",
    ]
    for row in reference_rows():
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    lines += ["", "## Keys that act under one structure", ""]
    for key, scope in ONE_STRUCTURE.items():
        name = f"`{key}`" if "." in key else f"`[{key}]` (every key)"
        lines.append(f"- {name}: {scope.label()}; {scope.reason}.")
    return "\n".join(lines) + "\n"


def _rows(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, str, str, str, str]]:
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        nested = field.annotation if isinstance(field.annotation, type) else None
        if nested is not None and issubclass(nested, BaseModel):
            yield from _rows(nested, f"{key}.")
            continue
        yield key, _type_name(field), _default(field), _allowed(field), field.description or ""
        items = [
            a for a in getattr(field.annotation, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        for item_model in items:
            yield from _rows(item_model, f"{key}[].")


def _type_name(field: FieldInfo) -> str:
    text = repr(field.annotation).replace("typing.", "")
    for long, short in (("<class '", ""), ("'>", ""), ("sim.scenario.schema.", "")):
        text = text.replace(long, short)
    return text


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, tuple) and value and isinstance(value[0], BaseModel):
        return "; ".join(json.dumps(v.model_dump()) for v in value)
    return json.dumps(value if not isinstance(value, tuple) else list(value))


def _allowed(field: FieldInfo) -> str:
    parts = []
    for constraint in field.metadata:
        for kind, attr, symbol in BOUNDS:
            if isinstance(constraint, kind):
                parts.append(f"{symbol} {getattr(constraint, attr)}")
        if isinstance(constraint, annotated_types.MinLen):
            parts.append(f"length >= {constraint.min_length}")
    literal = [a for a in getattr(field.annotation, "__args__", ()) if isinstance(a, str)]
    if literal:
        parts.append(" / ".join(f'"{a}"' for a in literal))
    return ", ".join(parts) or "any"
