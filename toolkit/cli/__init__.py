"""`tk`: the command line. `toolkit.cli.main.app` is the typer app; the command bodies live beside it."""
