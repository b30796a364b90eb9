"""`connector COMMAND --help` shows every option's help whole.

Typer renders help with rich markup, where ``[...]`` is a tag: text in brackets vanishes
from the output instead of being shown (the bench's ``--timeout`` once lost its defaults).
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("typer", reason="typer is absent: connector-core without its cli extra")

import typer
from typer.testing import CliRunner

from connector_core.cli.app import app

COMMANDS = typer.main.get_command(app).commands  # type: ignore[attr-defined]


def _flat(text: str) -> str:
    """`text` without the panels' borders, every run of whitespace one space."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_shows_its_whole_help(name: str) -> None:
    result = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    shown = _flat(result.output)

    helps = [(p.name, getattr(p, "help", None)) for p in COMMANDS[name].params]
    missing = [param for param, text in helps if text and _flat(text) not in shown]

    assert not missing, f"connector {name} --help lost the help of {missing}:\n{result.output}"
