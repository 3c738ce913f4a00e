"""`python -m toolkit.cli …`: the same as `tk …`."""

from toolkit.cli.main import app

app()
