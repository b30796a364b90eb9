"""The rich console every sub-command prints to.

On a terminal it uses the terminal's width. Piped or redirected (a CI log, a README being
written), rich would assume 80 columns and wrap the benchmark table; there it uses
`PIPE_WIDTH` columns instead, unless `COLUMNS` says otherwise.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

__all__ = ["PIPE_WIDTH", "make_console"]

PIPE_WIDTH = 150
"""Columns used when the output is not a terminal and `COLUMNS` is unset."""


def make_console() -> Console:
    """Returns a console for the command's output (stdout)."""
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else PIPE_WIDTH
    return Console(highlight=False, width=width)
