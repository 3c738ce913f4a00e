"""Config errors as one line each, naming the YAML path: `input_features[2].encoder.dim: must be > 0, got -4`.

Used by toolkit.config.schema (pydantic errors) and toolkit.hyperopt (search paths).
`did_you_mean` is the "did you mean 'x'?" tail of a message.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any, Union

from toolkit.features.base import StrictModel


def yaml_path(loc: tuple) -> str:
    """('input_features', 2, 'number', 'encoder', 'dim') → input_features[2].encoder.dim

    Pydantic puts the union tag (the `type` value) into the location after a
    list index or a union-valued key; it is not part of the YAML path.
    """
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif i > 0 and (isinstance(loc[i - 1], int) or loc[i - 1] in _UNION_KEYS):
            continue
        elif i > 1 and loc[i - 2] == "parameters" and loc[0] == "hyperopt":
            continue  # hyperopt.parameters.<path>.<space tag>
        else:
            out += f".{part}" if out else str(part)
    return out


_UNION_KEYS = ("combiner", "split")


def fields_at(root, loc: tuple) -> list[str]:
    """The valid keys of the config block at `loc` under the pydantic model `root` (for 'did you mean')."""
    from typing import get_args, get_origin

    def members(t) -> list:
        if get_origin(t) is Annotated:
            return members(get_args(t)[0])
        if get_origin(t) in (Union, __import__("types").UnionType):
            return [m for a in get_args(t) for m in members(a)]
        if get_origin(t) in (list, tuple, dict):
            return [m for a in get_args(t) for m in members(a)]
        return [t] if isinstance(t, type) and issubclass(t, StrictModel) else []

    if tuple(loc[:2]) == ("hyperopt", "parameters") and len(loc) > 2:
        loc = tuple(loc[:2]) + tuple(loc[3:])  # drop the dict key (a config path)
    current = [root]
    for part in loc:
        if isinstance(part, int):
            continue
        tagged = [
            c
            for c in current
            for tag in ("type", "space")
            if c.model_fields.get(tag) is not None and part in get_args(c.model_fields[tag].annotation)
        ]
        if tagged:
            current = tagged
            continue
        nxt = []
        for c in current:
            if part in c.model_fields:
                nxt += members(c.model_fields[part].annotation)
        current = nxt
    return sorted({f for c in current for f in c.model_fields})


def did_you_mean(word: str, options) -> str:
    """'; did you mean 'x'?' for the closest option, or ''."""
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def describe_error(err: dict[str, Any], root) -> str:
    """One pydantic error of validating `root` → 'yaml.path: what is wrong, got X'."""
    loc, kind, value = err["loc"], err["type"], err.get("input")
    path = yaml_path(loc)
    if kind == "extra_forbidden":
        key = loc[-1]
        fields = fields_at(root, loc[:-1])
        return f"{path}: unknown key {key!r}{did_you_mean(key, fields)} (valid keys: {', '.join(fields)})"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        tags = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
        key = str(ctx.get("discriminator", "'type'")).strip("'")
        return (
            f"{path}.{key}: unknown {key} {ctx.get('tag')!r}{did_you_mean(ctx.get('tag'), tags)} "
            f"(choose from {', '.join(tags)})"
        )
    if kind == "union_tag_not_found":
        key = str(err.get("ctx", {}).get("discriminator", "'type'")).strip("'")
        return f"{path}: missing key {key!r}"
    if kind == "missing":
        return f"{path}: required key is missing"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        opts = [o.strip(" '") for o in expected.replace(" or ", ",").split(",")]
        return f"{path}: got {value!r}{did_you_mean(value, opts)} (choose from {expected})"
    if kind == "too_short" and path in ("input_features", "output_features"):
        return f"{path}: at least one feature is required"
    if kind == "value_error":
        msg = str(err["msg"]).removeprefix("Value error, ")
        if msg.startswith("."):  # relative to the block: ".low: must be < high"
            return f"{path}{msg}"
        return msg if ":" in msg.split(" ")[0] else f"{path}: {msg}" if path else msg
    msg = str(err["msg"])
    msg = msg[0].lower() + msg[1:]
    return f"{path}: {msg}, got {value!r}" if path else f"{msg}"
