"""The typer application behind the `connector` command: one sub-command per module."""

from __future__ import annotations

import typer

from connector_core.cli.bench import bench
from connector_core.cli.demo import demo
from connector_core.cli.doctor import doctor

__all__ = ["app"]

app = typer.Typer(
    name="connector",
    help="Async message channels between components: demo, benchmarks and a doctor.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(demo)
app.command()(bench)
app.command()(doctor)


@app.callback()
def _root() -> None:
    """Async message channels between components: demo, benchmarks and a doctor."""
