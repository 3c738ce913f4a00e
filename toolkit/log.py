"""Where tk tells the user what it did: stderr, through rich when available.

Kept tiny so `tk --help` and `tk config render` stay fast: rich is imported
only when the first message is printed.
"""

from __future__ import annotations

import sys

_console = None
quiet = False


def console():
    """The shared rich console on stderr (created on first use)."""
    global _console
    if _console is None:
        from rich.console import Console

        _console = Console(stderr=True, highlight=False, soft_wrap=True)
    return _console


def info(message: str) -> None:
    """Print one progress or data-quality line to stderr, unless quiet."""
    if quiet:
        return
    console().print(message, markup=False)


def warn(message: str) -> None:
    """Print a warning line to stderr, even when quiet."""
    console().print(f"warning: {message}", markup=False, style="yellow")


def error(message: str) -> None:
    """Print an error line to stderr."""
    if _console is None and not sys.stderr.isatty():
        print(f"error: {message}", file=sys.stderr)
        return
    console().print(f"error: {message}", markup=False, style="bold red")
