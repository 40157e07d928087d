"""Errors a user can act on. Each renders as one line: what, where, and how to fix it.

The CLI catches ``BenchmarkkitError`` and prints ``str(err)``; anything else is a bug and shows a
traceback only with ``--debug``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class BenchmarkkitError(Exception):
    """Base of every user-facing error; ``exit_code`` is what the CLI returns."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InputError(BenchmarkkitError):
    """A data file or argument cannot be used; says which file, row and column."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        row: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.source, self.row, self.column = source, row, column
        self.detail = message  # without the location: for tables that hold it in columns
        where = ", ".join(
            part
            for part in (
                source,
                f"row {row}" if row is not None else None,
                f"column '{column}'" if column is not None else None,
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message, hint=hint)


class PluginError(BenchmarkkitError):
    """A plugin failed to load, register or run; names the plugin."""

    def __init__(self, plugin: str, message: str, *, hint: str | None = None) -> None:
        self.plugin = plugin
        self.detail = message  # without the plugin's name: for tables that hold it in a column
        super().__init__(f"plugin '{plugin}': {message}", hint=hint)


class MethodError(BenchmarkkitError):
    """A method was asked for with an unknown name or a bad parameter, or cannot run on the data."""


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A ``did you mean 'x'?`` hint, or None when nothing is close enough to help."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else None
