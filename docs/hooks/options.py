"""MkDocs hook: `<!-- tk-options: number input -->` in a page becomes the table of that feature
type's config keys (dotted key, allowed values, default, description), read from the feature's
pydantic `Config` class, so the documented options are the ones the config validates.

An unknown type or direction is an error: the build fails rather than print a stale table.
"""

from __future__ import annotations

import re
import sys
import types
import typing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # this tree's toolkit, whatever is installed
    sys.path.insert(0, str(ROOT))

MARKER = re.compile(r"<!--\s*tk-options:\s*(\w+)\s+(input|output)\s*-->")
SHARED = {"name", "column", "type"}  # keys of every feature, said once on the page


def _registries():
    from toolkit.features import INPUT_FEATURES, OUTPUT_FEATURES

    return {"input": INPUT_FEATURES, "output": OUTPUT_FEATURES}


def _is_model(t) -> bool:
    from pydantic import BaseModel

    return isinstance(t, type) and issubclass(t, BaseModel)


def _type_text(t) -> str:
    origin = typing.get_origin(t)
    if origin is typing.Literal:
        return " · ".join(f"`{a}`" for a in typing.get_args(t))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_text(a) for a in typing.get_args(t) if a is not type(None)) + (
            " or null" if type(None) in typing.get_args(t) else ""
        )
    if origin in (list, tuple):
        args = [a for a in typing.get_args(t) if a is not Ellipsis]
        return f"list of {_type_text(args[0])}" if args else "list"
    if origin is dict:
        k, v = typing.get_args(t)
        return f"map of {_type_text(k)} → {_type_text(v)}"
    return getattr(t, "__name__", str(t))


def _default_text(field) -> str:
    from pydantic_core import PydanticUndefined

    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.default_factory() if field.default is PydanticUndefined else field.default
    if value is None:
        return "—"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _rows(model, prefix: str = ""):
    for key, field in model.model_fields.items():
        if not prefix and key in SHARED:
            continue
        dotted = f"{prefix}{key}"
        if _is_model(field.annotation):
            yield from _rows(field.annotation, dotted + ".")
            continue
        desc = (field.description or "").replace("|", "\\|").replace("\n", " ")
        yield f"| `{dotted}` | {_type_text(field.annotation)} | {_default_text(field)} | {desc} |"


def options_table(type_name: str, direction: str) -> str:
    registry = _registries()[direction]
    if type_name not in registry:
        raise ValueError(f"tk-options: no {direction} feature type {type_name!r}; known: {sorted(registry)}")
    rows = list(_rows(registry[type_name].Config))
    if not rows:
        return "No keys beyond `name`, `column` and `type`.\n"
    return "| key | values | default | what it does |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"


def on_page_markdown(markdown, page, config, files):
    return MARKER.sub(lambda m: options_table(m.group(1), m.group(2)), markdown)
