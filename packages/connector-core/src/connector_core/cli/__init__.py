"""The `connector` command: a multi-process demo, benchmarks and a doctor.

It ships as the optional extra `connector-core[cli]` (typer, rich, matplotlib), so that
core's required dependencies stay minimal. The console script always exists; without the
extra, it prints the one line that installs it. The command reaches backends only through
the registry (`connector.backends` entry points) and benchmarks only through the
`connector.benchmarks` entry points: core imports no transport library.

Importing this package is cheap and needs none of the extra's libraries: the processes the
demo spawns import `connector_core.cli.demo_roles` without loading typer or rich.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["INSTALL_HINT", "main"]

INSTALL_HINT = 'the connector command needs its extra: pip install "connector-core[cli]"'
"""What `connector` prints when typer, rich or matplotlib is missing."""

_EXTRA_MODULES = frozenset({"typer", "rich", "click", "matplotlib"})


def main(argv: Sequence[str] | None = None) -> None:
    """Runs the `connector` command (the console script's entry point).

    Args:
        argv: Optional; the arguments (default: `sys.argv[1:]`).

    Raises:
        SystemExit: Always, with the command's exit status; 1 with `INSTALL_HINT` when the
            `cli` extra is not installed; 130 on Ctrl-C.
    """
    try:
        try:
            from connector_core.cli.app import app
        except ModuleNotFoundError as exc:
            if (exc.name or "").partition(".")[0] not in _EXTRA_MODULES:
                raise
            print(INSTALL_HINT, file=sys.stderr)
            raise SystemExit(1) from None
        app(args=list(sys.argv[1:] if argv is None else argv), prog_name="connector")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
