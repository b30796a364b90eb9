"""`connector doctor`: what is installed, what is configured, and whether services answer.

Sections: the installed backends (from the `connector.backends` entry points, with each
distribution's version, its transport libraries' versions, and whether the class loads), the
registered benchmarks, the settings in effect with their environment variables (the common
`Settings`, then each backend's own, from the `connector.settings` entry points; secrets
masked: a URL's password, the shared secret), then each backend's own checks (from the
`connector.probes` entry points: a broker that must answer, a library that must import), a
few seconds each at most; `--deep` also runs the slow ones (starting a local cluster). Exit
status 1 when settings are invalid or a backend fails to load.
"""

from __future__ import annotations

import os
import re
from importlib.metadata import EntryPoint, PackageNotFoundError, distribution, version
from typing import Annotated

import typer
from pydantic import SecretStr, ValidationError
from rich.table import Table

from connector_core.cli.benchmarks import available_benchmarks
from connector_core.cli.console import make_console
from connector_core.cli.probes import Probe, ProbeOptions, available_probes, mask_url, run_probes
from connector_core.registry import available_backends
from connector_core.settings import Settings, SettingsBase, env_names, settings_classes

__all__ = ["doctor", "masked_value"]

console = make_console()

_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._\-]*)")
_MASK = "****"


def masked_value(name: str, value: object) -> str:
    """Returns a setting's value for display, with secrets masked.

    A secret URL keeps everything but its password; any other secret shows only that it is set.
    """
    if value is None:
        return "(unset)"
    if isinstance(value, SecretStr):
        secret = value.get_secret_value()
        if "://" in secret:
            return mask_url(secret)
        return f"{_MASK} (set, hidden)"
    return str(value)


def _requirement_names(requirements: list[str] | None) -> list[str]:
    names = []
    for requirement in requirements or []:
        match = _REQUIREMENT_NAME.match(requirement)
        if match is not None and "extra ==" not in requirement:
            names.append(match.group(1))
    return names


def _transport_versions(ep: EntryPoint) -> str:
    """The versions of what the backend's distribution needs beyond connector-core."""
    dist = ep.dist
    if dist is None:
        return "-"
    try:
        core = set(_requirement_names(distribution("connector-core").requires))
    except PackageNotFoundError:
        core = set()
    found = []
    for name in _requirement_names(dist.requires):
        if name.startswith("connector-") or (dist.name == "connector-core" and name in core):
            continue
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} MISSING")
    return ", ".join(found) or "nothing more"


def _backends_table() -> tuple[Table, bool]:
    table = Table(
        title="installed backends (entry points: connector.backends)", title_justify="left"
    )
    for column in ("name", "class", "distribution", "transport", "loads"):
        table.add_column(column, overflow="fold")
    ok = True
    benchmarks = available_benchmarks()
    for name, ep in available_backends().items():
        dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist is not None else "-"
        try:
            ep.load()
            loads = "[green]yes[/green]"
        except Exception as exc:
            ok = False
            loads = f"[red]no: {type(exc).__name__}: {exc}[/red]"
        bench = "" if name in benchmarks else " (no benchmark registered)"
        table.add_row(name, ep.value, dist + bench, _transport_versions(ep), loads)
    return table, ok


def _settings_table(everyone: list[tuple[str, SettingsBase]]) -> Table:
    table = Table(title="settings in effect (secrets masked)", title_justify="left")
    for column in ("of", "setting", "environment variable", "value", "from"):
        table.add_column(column, overflow="fold")
    for owner, settings in everyone:
        cls = type(settings)
        for name in cls.model_fields:
            names = env_names(cls, name)
            given = next((n for n in names if n in os.environ), None)
            source = f"${given}" if given else "default (or .env)"
            value = masked_value(name, getattr(settings, name))
            table.add_row(owner, name, " or ".join(names), value, source)
    return table


def _read_settings() -> tuple[list[tuple[str, SettingsBase]], bool]:
    """The common settings and every backend's, as read here; and whether all are valid.

    Raises:
        typer.Exit: With status 1 when the common settings are invalid.
    """
    try:
        everyone: list[tuple[str, SettingsBase]] = [("all", Settings())]
    except ValidationError as exc:
        console.print(f"[red]the settings are invalid:[/red]\n{exc}")
        raise typer.Exit(1) from None
    valid = True
    for backend, cls in settings_classes().items():
        try:
            everyone.append((backend, cls()))
        except ValidationError as exc:
            console.print(f"[red]the {backend} backend's settings are invalid:[/red]\n{exc}")
            valid = False
    return everyone, valid


def _line(what: str, probe: Probe) -> None:
    mark = "[green]ok[/green]" if probe.ok else "[yellow]not available[/yellow]"
    console.print(f"{what}: {mark}: {probe.detail}")


def doctor(
    deep: Annotated[
        bool,
        typer.Option(
            "--deep",
            help="Also run the backends' slow checks, such as starting and stopping a local "
            "cluster: tens of seconds.",
        ),
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", "--broker-timeout", min=0.1, help="Seconds a service may take to answer."
        ),
    ] = 3.0,
) -> None:
    """Show installed backends, the settings in effect and whether services answer."""
    healthy = True
    table, loads = _backends_table()
    healthy &= loads
    console.print(table)
    names = ", ".join(sorted(available_benchmarks())) or "none"
    console.print(f"benchmarks (entry points: connector.benchmarks): {names}")
    console.print()
    everyone, valid = _read_settings()
    healthy &= valid
    console.print(_settings_table(everyone))
    console.print()
    options = ProbeOptions(timeout=timeout, deep=deep)
    for name in available_probes():
        for check in run_probes(name, options):
            _line(check.what, check.probe)
            for note in check.notes:
                console.print(f"  {note}")
    if not healthy:
        raise typer.Exit(1)
