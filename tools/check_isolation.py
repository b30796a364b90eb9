"""Prove that each distribution installs alone and brings no other transport.

For each distribution under ``packages/`` (connector-core, connector-zmq, connector-rabbitmq,
connector-ray, connector-redis, those that have source), this script:

1. builds its wheel with ``uv build --package NAME`` into a temporary directory (core's too,
   since every sibling needs it, and no index has this version of it);
2. makes a fresh virtual environment and installs that wheel (with the core wheel) into it,
   taking third-party dependencies from the package index; a distribution with extras is
   checked a second time with all of them installed (core's ``cli`` extra must not bring a
   transport either);
3. in that environment, imports the package and checks that:

   - exactly its own transport is installed (core: none of pyzmq, aio-pika, ray, redis; zmq:
     pyzmq only; redis: redis-py only; ...) and no other ``connector-*`` distribution came
     along;
   - importing it loaded no other transport's module (core imports none at all);
   - every entry point in the ``connector.backends`` group loads a ``Connector`` subclass and
     the expected names are there (``asyncio`` from core, plus the package's own);
   - the wheel ships ``py.typed``.

It prints one table row per distribution and exits 1 if any check failed (2 for bad
arguments). Usage: ``uv run python tools/check_isolation.py [--package NAME ...]
[--python VERSION] [--keep]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NotRequired, TypedDict

__all__ = [
    "TRANSPORTS",
    "Distribution",
    "Outcome",
    "Probe",
    "check",
    "find_distributions",
    "judge",
    "main",
]

ROOT = Path(__file__).resolve().parent.parent
CORE = "connector-core"
ENTRY_POINT_GROUP = "connector.backends"

TRANSPORTS: dict[str, tuple[str, str]] = {
    "connector-zmq": ("pyzmq", "zmq"),
    "connector-rabbitmq": ("aio-pika", "aio_pika"),
    "connector-ray": ("ray", "ray"),
    "connector-redis": ("redis", "redis"),
}
"""Each backend distribution's transport: (distribution name, import name)."""


@dataclass(frozen=True)
class Distribution:
    """One workspace member, as its pyproject.toml describes it."""

    name: str
    import_name: str
    directory: Path
    entry_points: tuple[str, ...]
    """The names it registers under ``connector.backends``."""
    extras: tuple[str, ...] = ()
    """Its optional-dependency groups; it is also checked with all of them installed."""

    @property
    def has_source(self) -> bool:
        """True when ``src/<import_name>/__init__.py`` exists."""
        return (self.directory / "src" / self.import_name / "__init__.py").is_file()

    @property
    def transport(self) -> tuple[str, str] | None:
        """(distribution, import name) of its transport; None for core."""
        return TRANSPORTS.get(self.name)


@dataclass
class Outcome:
    """What the check found for one distribution."""

    name: str
    status: str = "ok"
    """``ok``, ``FAIL`` or ``skip``."""
    version: str = "-"
    transports: str = "-"
    entry_points: str = "-"
    problems: list[str] = field(default_factory=list)

    def fail(self, problem: str) -> None:
        """Records a problem and marks the outcome failed."""
        self.problems.append(problem)
        self.status = "FAIL"


def find_distributions(root: Path = ROOT) -> dict[str, Distribution]:
    """Returns the workspace members under ``root/packages`` by distribution name.

    Raises:
        ValueError: If a member's pyproject.toml has no ``[project] name``.
    """
    found: dict[str, Distribution] = {}
    for pyproject in sorted((root / "packages").glob("*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text()).get("project", {})
        name = project.get("name")
        if not isinstance(name, str):
            raise ValueError(f"{pyproject} has no [project] name")
        eps = project.get("entry-points", {}).get(ENTRY_POINT_GROUP, {})
        found[name] = Distribution(
            name=name,
            import_name=name.replace("-", "_"),
            directory=pyproject.parent,
            entry_points=tuple(sorted(eps)),
            extras=tuple(sorted(project.get("optional-dependencies", {}))),
        )
    return found


# Runs inside the fresh environment: argv = import name, transports as JSON.
_PROBE = """
import importlib, json, sys
from importlib import metadata
import_name, transports = sys.argv[1], json.loads(sys.argv[2])
out = {"installed": {}, "connectors": [], "loaded": [], "entry_points": {}, "error": None}
for dist, _module in transports:
    try:
        out["installed"][dist] = metadata.version(dist)
    except metadata.PackageNotFoundError:
        pass
out["connectors"] = sorted(
    d.metadata["Name"] for d in metadata.distributions()
    if d.metadata["Name"].lower().startswith("connector-")
)
try:
    package = importlib.import_module(import_name)
    out["version"] = getattr(package, "__version__", None) or metadata.version(
        import_name.replace("_", "-"))
    out["loaded"] = [m for _d, m in transports if m in sys.modules]
    from connector_core import Connector
    for ep in metadata.entry_points(group="connector.backends"):
        try:
            target = ep.load()
            ok = isinstance(target, type) and issubclass(target, Connector)
            out["entry_points"][ep.name] = "ok" if ok else f"{target!r} is not a Connector"
        except Exception as exc:
            out["entry_points"][ep.name] = f"{type(exc).__name__}: {exc}"
except Exception as exc:
    out["error"] = f"{type(exc).__name__}: {exc}"
print(json.dumps(out))
"""


def _run(command: Sequence[str], what: str) -> str:
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
        raise RuntimeError(f"{what} failed (exit {proc.returncode}):\n  " + "\n  ".join(detail))
    return proc.stdout


def _build(dist: Distribution, out_dir: Path) -> Path:
    _run(
        ["uv", "build", "--quiet", "--package", dist.name, "--wheel", "--out-dir", str(out_dir)],
        f"uv build --package {dist.name}",
    )
    wheels = sorted(out_dir.glob(f"{dist.import_name}-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one {dist.import_name} wheel in {out_dir}, found {wheels}")
    return wheels[0]


def check(
    dist: Distribution,
    wheel: Path,
    core_wheel: Path,
    work: Path,
    python: str,
    extras: Sequence[str] = (),
) -> Outcome:
    """Installs one distribution's wheel alone in a fresh virtual environment and probes it.

    Args:
        dist: The distribution to check.
        wheel: Its wheel.
        core_wheel: connector-core's wheel, installed beside it.
        work: A scratch directory for this check.
        python: The interpreter (path or version) for the virtual environment.
        extras: Optional-dependency groups to install with it.

    Returns:
        The outcome; problems are recorded on it, never raised.
    """
    label = f"{dist.name}[{','.join(extras)}]" if extras else dist.name
    outcome = Outcome(label)
    try:
        with zipfile.ZipFile(wheel) as archive:
            if f"{dist.import_name}/py.typed" not in archive.namelist():
                outcome.fail(f"{wheel.name} does not ship {dist.import_name}/py.typed")
        venv = work / "venv"
        _run(["uv", "venv", "--quiet", "--python", python, str(venv)], "uv venv")
        venv_python = venv / "bin" / "python"
        target = f"{wheel}[{','.join(extras)}]" if extras else str(wheel)
        requirements = [target] if wheel == core_wheel else [target, str(core_wheel)]
        _run(
            ["uv", "pip", "install", "--quiet", "--python", str(venv_python), *requirements],
            f"installing {label} into a fresh environment",
        )
        all_transports = sorted(TRANSPORTS.values())
        probe: Probe = json.loads(
            _run(
                [str(venv_python), "-c", _PROBE, dist.import_name, json.dumps(all_transports)],
                f"probing {label}",
            )
        )
    except RuntimeError as exc:
        outcome.fail(str(exc))
        return outcome
    judge(dist, probe, outcome)
    return outcome


class Probe(TypedDict):
    """What the probe found inside the fresh environment."""

    installed: dict[str, str]
    """Transport distributions installed, with their versions."""
    connectors: list[str]
    """Every ``connector-*`` distribution installed."""
    loaded: list[str]
    """Transport modules in ``sys.modules`` after importing the package."""
    entry_points: dict[str, str]
    """``connector.backends`` names: ``ok``, or why loading failed."""
    error: str | None
    """Why importing the package failed, or None."""
    version: NotRequired[str | None]


def judge(dist: Distribution, probe: Probe, outcome: Outcome) -> None:
    """Records on `outcome` every way `probe` breaks `dist`'s isolation promise.

    Args:
        dist: The distribution that was installed alone.
        probe: What the probe found in its environment.
        outcome: Where to record the findings.
    """
    installed, entry_points = probe["installed"], probe["entry_points"]
    outcome.version = str(probe.get("version") or "-")
    outcome.transports = ", ".join(f"{k} {v}" for k, v in sorted(installed.items())) or "none"
    outcome.entry_points = ", ".join(sorted(entry_points)) or "none"
    if probe["error"]:
        outcome.fail(f"import {dist.import_name} failed: {probe['error']}")
    own = dist.transport
    expected = {own[0]} if own else set()
    if extra := sorted(set(installed) - expected):
        outcome.fail(f"other transports came along: {', '.join(extra)}")
    if missing := sorted(expected - set(installed)):
        outcome.fail(f"its own transport is not installed: {', '.join(missing)}")
    own_module = own[1] if own else None
    if stray := sorted(m for m in probe["loaded"] if m != own_module):
        outcome.fail(f"importing {dist.import_name} imported other transports: {', '.join(stray)}")
    wanted_connectors = {CORE, dist.name}
    if stray_dists := sorted(c for c in probe["connectors"] if c not in wanted_connectors):
        outcome.fail(f"other connector distributions came along: {', '.join(stray_dists)}")
    expected_eps = {"asyncio", *dist.entry_points}
    if missing_eps := sorted(expected_eps - set(entry_points)):
        outcome.fail(f"entry points missing from {ENTRY_POINT_GROUP}: {', '.join(missing_eps)}")
    for name, result in sorted(entry_points.items()):
        if result != "ok":
            outcome.fail(f"entry point {name!r} does not resolve: {result}")


def format_table(outcomes: Sequence[Outcome]) -> str:
    """Returns the outcomes as an aligned table, problems listed under it."""
    header = ["distribution", "version", "transports installed", "entry points", "result"]
    body = [[o.name, o.version, o.transports, o.entry_points, o.status] for o in outcomes]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [header, *body]
    ]
    for outcome in outcomes:
        lines.extend(f"  {outcome.name}: {problem}" for problem in outcome.problems)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the isolation check from the command line.

    Args:
        argv: Command-line arguments (default: `sys.argv[1:]`).

    Returns:
        0 when every checked distribution passed, 1 when one failed, 2 for bad arguments.
    """
    dists = find_distributions()
    parser = argparse.ArgumentParser(
        description="Install each distribution alone and prove it brings no other transport."
    )
    parser.add_argument(
        "--package",
        action="append",
        metavar="NAME",
        help=f"check only this distribution (repeatable); one of: {', '.join(dists)}",
    )
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter or version for the fresh environments (default: this one)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch directory and print its path"
    )
    args = parser.parse_args(argv)
    if CORE not in dists:
        parser.error(f"no packages/*/pyproject.toml names {CORE}; run this from the workspace")
    selected = args.package or list(dists)
    if unknown := [name for name in selected if name not in dists]:
        parser.error(f"unknown distribution {', '.join(unknown)}; choose from {', '.join(dists)}")
    if no_source := [name for name in args.package or [] if not dists[name].has_source]:
        parser.error(f"{', '.join(no_source)} has no source yet (src/<package>/__init__.py)")

    work = Path(tempfile.mkdtemp(prefix="connector-isolation-"))
    outcomes: list[Outcome] = []
    try:
        core_wheel = _build(dists[CORE], work / "core-dist")
        for name in selected:
            dist = dists[name]
            if not dist.has_source:
                skipped = Outcome(name, status="skip")
                skipped.problems.append("no source yet: src/<package>/__init__.py is missing")
                outcomes.append(skipped)
                continue
            print(f"checking {name} ...", flush=True)
            try:
                wheel = core_wheel if name == CORE else _build(dist, work / name / "dist")
            except RuntimeError as exc:
                failed = Outcome(name)
                failed.fail(str(exc))
                outcomes.append(failed)
                continue
            outcomes.append(check(dist, wheel, core_wheel, work / name / "alone", args.python))
            if dist.extras:
                print(f"checking {name} with its extras {', '.join(dist.extras)} ...", flush=True)
                outcomes.append(
                    check(
                        dist,
                        wheel,
                        core_wheel,
                        work / name / "extras",
                        args.python,
                        extras=dist.extras,
                    )
                )
    except RuntimeError as exc:
        print(f"cannot build {CORE}: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"scratch directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(format_table(outcomes))
    return 1 if any(o.status == "FAIL" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
