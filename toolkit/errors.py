"""The one exception users see.

A `TkError` carries a single line that names what is wrong and where (the YAML
path, the column, the row). The CLI prints it and exits with code 2; the Python
API lets it propagate. Anything else escaping is a bug in tk.
"""


class TkError(Exception):
    """A user-facing error: bad config, bad data, bad model directory."""

    exit_code = 2


def shift_row(message: str, offset: int) -> str:
    """'… row 3: …' (1-based within a chunk) → the same message with the row number in the whole input."""
    import re

    return re.sub(r"\brow (\d+)", lambda m: f"row {int(m.group(1)) + offset}", message, count=1)
