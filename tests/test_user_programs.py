"""Short user programs, run the way users run them: subprocesses with a clean environment.

Each program in `tests/user_programs/` runs for every installed backend under `uv run`,
`uv run --no-sync` and the virtual environment's plain `python`. The environment holds what a
user's shell would (PATH, HOME, locale, and the service URLs they configured), and nothing a
test fixture might set: no `RAY_*`, no `CONNECTOR_*`, no pytest variables. A program that
does not finish within its deadline fails with what it printed, never hangs the suite.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from connector_core.testing.backends import installed_profiles, unavailable_reason
from connector_core.testing.programs import run_program

pytestmark = pytest.mark.timeout(240)  # the programs' own deadlines come first

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = Path(__file__).resolve().parent / "user_programs"

DEADLINE = {"ray": 180.0}
"""Seconds a program may take, by backend (Ray starts a local cluster per program)."""
DEFAULT_DEADLINE = 90.0

PROFILES = installed_profiles()


def _launcher(how: str) -> list[str]:
    if how == "python":
        return [sys.executable]
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed (pip install uv): cannot run programs under uv run")
    if how == "uv run":
        return [uv, "run", "--quiet", "python"]
    return [uv, "run", "--quiet", "--no-sync", "python"]


def _run(program: str, backend: str, how: str) -> str:
    reason = unavailable_reason(PROFILES[backend])
    if reason is not None:
        pytest.skip(reason)
    what = f"{program} on {backend} under `{how}`"
    done = run_program(
        [*_launcher(how), str(PROGRAMS / program), backend],
        timeout=DEADLINE.get(backend, DEFAULT_DEADLINE),
        what=what,
        cwd=ROOT,
    )
    assert done.returncode == 0, (
        f"{what} exited with {done.returncode}.\n"
        f"--- stdout ---\n{done.stdout[-4000:]}\n--- stderr ---\n{done.stderr[-4000:]}"
    )
    return done.stdout


LAUNCHERS = ["uv run", "uv run --no-sync", "python"]
BACKENDS = sorted(PROFILES)
CROSS_PROCESS = sorted(name for name, profile in PROFILES.items() if profile.cross_process)


@pytest.mark.parametrize("how", LAUNCHERS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_round_trip_program_finishes(backend: str, how: str) -> None:
    assert "round trip ok" in _run("round_trip.py", backend, how)


@pytest.mark.parametrize("how", LAUNCHERS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_asyncio_run_twice_in_one_process_works(backend: str, how: str) -> None:
    output = _run("run_twice.py", backend, how)
    assert "run 1 ok" in output
    assert "run 2 ok" in output


@pytest.mark.crossprocess
@pytest.mark.parametrize("how", LAUNCHERS)
@pytest.mark.parametrize("backend", CROSS_PROCESS)
def test_pickled_connector_in_a_spawned_process_works(backend: str, how: str) -> None:
    assert "spawned producer ok" in _run("spawned.py", backend, how)
