"""At `tk train`: every part a plugin gave, checked on the first rows of its column before training."""

from __future__ import annotations

from toolkit.errors import TkError
from toolkit.testing.combiners import check_combiner
from toolkit.testing.contract import ContractError, check_feature


def plugin_parts(cfg) -> list[tuple[str, str, object, dict, str]]:
    """(plugin, "input" | "output", feature config, its block, part) for every feature of `cfg` whose type,
    encoder or loss a plugin gave."""
    from toolkit.config import plugins

    found = []
    for kind, configs in (("input", cfg.input_features), ("output", cfg.output_features)):
        for fc in configs:
            block = fc.model_dump(mode="json", exclude={"name", "type", "column"})
            who = plugins.owner(f"{kind}_feature", fc.type)
            if who != plugins.BUILTIN:
                found.append((who, kind, fc, block, f"{fc.type} feature"))
                continue
            for key in ("encoder", "loss"):
                sub = getattr(fc, key, None)
                tag = getattr(sub, "type", None)
                if tag is not None and plugins.owner(key, f"{fc.type}.{tag}") != plugins.BUILTIN:
                    found.append((plugins.owner(key, f"{fc.type}.{tag}"), kind, fc, block, f"{fc.type} {key} {tag!r}"))
    return found


def refuse_broken_plugins(cfg, source=None) -> None:
    """check_combiner on a plugin's combiner; check_feature on every feature whose type, encoder or loss
    a plugin gave, on the first rows of its column in `source` (a toolkit.data.readers FrameSource or
    Source; None: the type's default sample). TkError in one line naming the plugin and what it lacks.
    Nothing from a plugin: nothing imported, nothing run."""
    from toolkit.config import plugins

    combiner = plugins.owner("combiner", cfg.combiner.type)
    if combiner != plugins.BUILTIN:
        try:
            check_combiner(cfg.combiner)
        except ContractError as e:
            raise TkError(f"plugin {combiner!r}: {e}") from None
    parts = plugin_parts(cfg)
    if not parts:
        return
    from toolkit.features import INPUT_FEATURES, OUTPUT_FEATURES

    frame = _first_rows(source, parts)
    for plugin, kind, fc, block, what in parts:
        cls = (INPUT_FEATURES if kind == "input" else OUTPUT_FEATURES)[fc.type]
        column = None
        if frame is not None and fc.source in frame.columns:
            column = frame[fc.source].tolist()
            if kind == "output":
                column = [v for v in column if v == v and v is not None] or None
        try:
            check_feature(cls, column, config=block, name=fc.name)
        except ContractError as e:
            raise TkError(f"plugin {plugin!r}: {what} of {kind} feature {fc.name!r} is refused: {e}") from None


def _first_rows(source, parts, rows: int = 256):
    """The first `rows` rows of the plugin features' columns (a DataFrame), or None."""
    frame = getattr(source, "frame", None)
    if frame is not None:
        return frame.head(rows)
    paths = getattr(source, "paths", None)
    if not paths:
        return None
    from toolkit.data import readers
    from toolkit.features import INPUT_FEATURES, OUTPUT_FEATURES

    wanted = {
        fc.source: (INPUT_FEATURES if kind == "input" else OUTPUT_FEATURES)[fc.type].raw_dtype
        for _, kind, fc, _, _ in parts
    }
    try:
        chunk = next(readers.Source(str(paths[0]), wanted).chunks(rows=rows), None)
    except Exception:  # the training run reports unreadable data itself
        return None
    return None if chunk is None else chunk.frame.head(rows)
