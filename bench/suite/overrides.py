"""Changes applied to the YAML that `tk init-config` writes, before `tk train`.

    cfg = apply(cfg, ["trainer.epochs=200", "input_features[type=number].encoder.bins=16"])
    cfg = apply(cfg, {"trainer.epochs": 200})            # {dotted path: value}, as candidates.py returns

Override syntax: a dotted path, `=`, a YAML value (`200`, `0.1`, `null`, `cosine`, `[1, 2]`).
A path segment may select list items: `[*]` (every item) or `[key=value]` (items whose key
equals value, e.g. `[type=number]`). Missing mappings along the path are created.
The suite always sets `preprocessing.split` to the fixed `split` column; nothing else changes
the init-config YAML unless an override or a candidate says so.
"""

from __future__ import annotations

import re
from typing import Any

_SEGMENT = re.compile(r"([^.\[\]]+)|\[([^\]]*)\]")


def parse(override: str) -> tuple[list[str], Any]:
    """`a.b[type=x].c=1` → (["a", "b", "[type=x]", "c"], 1)."""
    import yaml

    # a selector holds "=" itself: split at the first "=" outside brackets
    depth, cut = 0, -1
    for i, ch in enumerate(override):
        depth += ch == "["
        depth -= ch == "]"
        if ch == "=" and depth == 0:
            cut = i
            break
    if cut < 0:
        raise ValueError(f"override {override!r}: expected key=value, e.g. trainer.epochs=200")
    path, value = override[:cut], override[cut + 1 :]
    segments = [m.group(1) if m.group(1) is not None else f"[{m.group(2)}]" for m in _SEGMENT.finditer(path)]
    if not segments:
        raise ValueError(f"override {override!r}: empty path")
    return segments, yaml.safe_load(value)


def _targets(node: Any, segment: str) -> list[Any]:
    """The list items a `[...]` segment selects."""
    if not isinstance(node, list):
        raise ValueError(f"selector {segment} applied to a {type(node).__name__}, not a list")
    inner = segment[1:-1]
    if inner == "*":
        return list(node)
    key, _, want = inner.partition("=")
    return [item for item in node if isinstance(item, dict) and str(item.get(key)) == want]


def _set(node: Any, segments: list[str], value: Any) -> None:
    head, rest = segments[0], segments[1:]
    if head.startswith("["):
        for item in _targets(node, head):
            if rest:
                _set(item, rest, value)
        return
    if not rest:
        node[head] = value
        return
    if node.get(head) is None:
        node[head] = {}
    _set(node[head], rest, value)


def apply(cfg: dict, overrides: list[str] | dict[str, Any]) -> dict:
    """Apply overrides in order (a list of `key=value` strings, or {dotted path: value}); returns cfg."""
    items = overrides.items() if isinstance(overrides, dict) else (parse(o) for o in overrides)
    for path, value in items:
        segments = path if isinstance(path, list) else parse(f"{path}=null")[0]
        _set(cfg, segments, value)
    return cfg
