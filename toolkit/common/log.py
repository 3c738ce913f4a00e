"""Where tk tells the user what it did: stderr, through rich when available.

Kept tiny so `tk --help` and `tk config render` stay fast: rich is imported
only when the first message is printed.
"""

from __future__ import annotations

import sys

_console = None
quiet = False
#: when set, `warn` hands each message to it instead of printing (toolkit.sklearn makes them Python warnings)
on_warning = None


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
    """Print a warning line to stderr, even when quiet (or hand it to `on_warning`)."""
    if on_warning is not None:
        on_warning(message)
        return
    console().print(f"warning: {message}", markup=False, style="yellow")


def error(message: str) -> None:
    """Print an error line to stderr."""
    if _console is None and not sys.stderr.isatty():
        print(f"error: {message}", file=sys.stderr)
        return
    console().print(f"error: {message}", markup=False, style="bold red")


class _NoProgress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, **kwargs) -> None:
        pass


def progress(total: int, description: str):
    """A rich progress bar on a terminal (per-epoch lines print above it); a no-op otherwise."""
    if quiet or not console().is_terminal:
        return _NoProgress()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    class _Bar:
        def __enter__(self):
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console(),
                transient=True,
            )
            self.bar.__enter__()
            self.task = self.bar.add_task(description, total=total)
            return self

        def __exit__(self, *exc):
            return self.bar.__exit__(*exc)

        def update(self, **kwargs) -> None:
            self.bar.update(self.task, **kwargs)

    return _Bar()
