"""The one exception users see.

A `TkError` carries a single line that names what is wrong and where (the YAML
path, the column, the row). The CLI prints it and exits with code 2; the Python
API lets it propagate. Anything else escaping is a bug in tk.
"""


class TkError(Exception):
    """A user-facing error: bad config, bad data, bad model directory."""

    exit_code = 2
