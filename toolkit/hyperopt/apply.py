"""Dotted config paths: where a searched value goes in the config dict.

    trainer.learning_rate                  → data["trainer"]["learning_rate"]
    input_features.review.encoder.type     → the input feature named "review"
                                             (names may hold dots: the longest match wins)

`check_path` says whether a path can exist for some block type (a transformer
key under `combiner` is fine even when the base config's combiner is concat:
a trial may switch it); `applies` says whether it exists in one trial's config
(so a concat-only key is not searched in a transformer trial); `set_path`
writes a value, and switching a block's `type` drops the keys the new type
lacks.
"""

from __future__ import annotations

import copy

FEATURE_LISTS = ("input_features", "output_features")


class PathError(ValueError):
    """A config path that names nothing (message without the path itself)."""


def split_path(data: dict, path: str) -> list:
    """'input_features.review.encoder.type' → ['input_features', 3, 'encoder', 'type']."""
    from toolkit.config.messages import did_you_mean

    parts = path.split(".")
    if any(not p for p in parts):
        raise PathError(f"not a dotted config path (empty part in {path!r})")
    if parts[0] not in FEATURE_LISTS:
        return parts
    features = data.get(parts[0]) or []
    names = [f.get("name") for f in features if isinstance(f, dict)]
    for end in range(len(parts), 1, -1):
        name = ".".join(parts[1:end])
        if name in names:
            return [parts[0], names.index(name)] + parts[end:]
    what = parts[1] if len(parts) > 1 else ""
    raise PathError(
        f"no {parts[0][:-1].replace('_', ' ')} named {what!r}{did_you_mean(what, names)} "
        f"(features: {', '.join(map(str, names))})"
    )


def _schema_loc(data: dict, keys: list, tags_from_data: bool) -> tuple:
    """The location config_errors.fields_at understands: keys with each block's `type` as a tag.

    A feature's type is always known (it is required); other blocks' types
    are used only when `tags_from_data` (one trial's config, not the search).
    """
    loc, node = [], data
    for key in keys:
        loc.append(key)
        node = node[key] if isinstance(node, (dict, list)) and _has(node, key) else None
        if isinstance(node, dict) and isinstance(node.get("type"), str):
            if isinstance(key, int) or tags_from_data:
                loc.append(node["type"])
    return tuple(loc)


def _has(node, key) -> bool:
    return key in node if isinstance(node, dict) else isinstance(key, int) and key < len(node)


def check_path(data: dict, path: str, tags_from_data: bool = False) -> list:
    """Raise PathError unless `path` names a config key; return the split path."""
    from toolkit.config.messages import did_you_mean, fields_at
    from toolkit.config.schema import config_model

    keys = split_path(data, path)
    for i, key in enumerate(keys):
        if isinstance(key, int):
            continue
        loc = _schema_loc(data, keys[:i], tags_from_data)
        allowed = fields_at(config_model(), loc)
        if not allowed:
            raise PathError(f"{keys[i - 1]!r} is a value, not a block with key {key!r}")
        if key not in allowed:
            raise PathError(f"unknown key {key!r}{did_you_mean(key, allowed)} (valid keys here: {', '.join(allowed)})")
    return keys


def applies(data: dict, path: str) -> bool:
    """True when `path` is a key of the blocks as they are in this config."""
    try:
        check_path(data, path, tags_from_data=True)
    except PathError:
        return False
    return True


def set_path(data: dict, path: str, value) -> dict:
    """A copy of `data` with `value` at `path` (missing blocks are created).

    Setting a block's `type` to a new value drops that block's keys the new
    type does not have (the base config's concat `hidden_size` when a trial
    picks the transformer combiner).
    """
    from toolkit.config.messages import fields_at
    from toolkit.config.schema import config_model

    out = copy.deepcopy(data)
    keys = split_path(out, path)
    node = out
    for key in keys[:-1]:
        if isinstance(node, dict) and node.get(key) is None:
            node[key] = {}
        node = node[key]
    last = keys[-1]
    if last == "type" and isinstance(node, dict) and node.get("type") != value:
        node["type"] = value
        loc = _schema_loc(out, keys[:-1], tags_from_data=True)
        keep = set(fields_at(config_model(), loc))
        for stale in [k for k in node if keep and k not in keep]:
            del node[stale]
    else:
        node[last] = value
    return out
