"""The text `tk init-config` writes and prints: YAML scalars and feature lines, the dataset path relative to
the config, values and column lists shortened for a message (stdlib only: init-config imports no torch
or pydantic)."""

from __future__ import annotations

import json
import re
from pathlib import Path


def dataset_path(dataset: Path, relative_to: Path | None) -> str:
    if relative_to is None:
        return str(dataset)
    import os

    try:
        return Path(os.path.relpath(dataset.resolve(), Path(relative_to).resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return str(dataset.resolve())


_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_\-./]*")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "y", "n", "null"}


def scalar(s: str) -> str:
    """A YAML scalar for `s`: plain when safe in a flow mapping, else double-quoted (JSON)."""
    return s if _PLAIN.fullmatch(s) and s.lower() not in _RESERVED else json.dumps(s, ensure_ascii=False)


def feature_lines(items) -> list[str]:
    return [
        f"  - {{name: {scalar(name)}, type: {kind}}}" + (f"  # {oneline(note)}" if note else "")
        for name, kind, note in items
    ]


def oneline(s: str) -> str:
    return s.replace("\r", " ").replace("\n", " ")


def short(value: str, limit: int = 30) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


def names_list(names: list[str], limit: int = 40) -> str:
    return ", ".join(names[:limit]) + (f" … ({len(names)} in all)" if len(names) > limit else "")


def close_hint(word: str, names: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
