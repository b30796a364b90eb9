"""MkDocs hook: replaces `<!-- cli-reference -->` with the help of every `connector` command.

Generated at build time by running the typer application (`connector_core.cli.app:app`) with
`--help` for the command and each sub-command, so the page shows exactly what the installed
command prints.
"""

from __future__ import annotations

from typing import Any

MARKER = "<!-- cli-reference -->"
"""The line in a page that the reference replaces."""

WIDTH = 96
"""Columns the help is laid out for."""


def _help(app: Any, args: list[str]) -> str:
    from typer.testing import CliRunner

    env = {"COLUMNS": str(WIDTH), "TERMINAL_WIDTH": str(WIDTH), "NO_COLOR": "1"}
    result = CliRunner().invoke(app, [*args, "--help"], env=env)
    if result.exit_code != 0:
        raise RuntimeError(f"connector {' '.join(args)} --help failed: {result.output}")
    lines = [line.rstrip() for line in result.output.splitlines()]
    return "\n".join(lines).strip("\n")


def command_names(app: Any) -> list[str]:
    """Returns the names of the application's visible sub-commands."""
    return [
        info.name or info.callback.__name__.replace("_", "-")
        for info in app.registered_commands
        if not info.hidden
    ]


def cli_reference() -> str:
    """Returns the Markdown reference: the help of `connector` and of each sub-command.

    Raises:
        ImportError: If the `cli` extra (typer, rich) is not installed.
        RuntimeError: If a `--help` fails.
    """
    from connector_core.cli.app import app

    parts = [f"```text\n{_help(app, [])}\n```\n"]
    for name in command_names(app):
        parts.append(f"### `connector {name}`\n\n```text\n{_help(app, [name])}\n```\n")
    return "\n".join(parts)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """MkDocs event: fills in the CLI reference where a page asks for it."""
    if MARKER in markdown:
        return markdown.replace(MARKER, cli_reference())
    return markdown
