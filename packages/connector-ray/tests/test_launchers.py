"""A user script's round trip finishes however Python was launched, `uv run --no-sync` too.

Ray 2.x starts the workers of a driver launched by `uv run` through `uv run` again, in a copy
of the working directory; under `uv run --no-sync` that copy's fresh environment has no Ray,
so a hub actor started that way never came up and the script hung. The hub is the library's
own machinery: it now starts on the driver's interpreter. The script runs as a user runs it:
a subprocess from the workspace root with a clean environment (no `RAY_*`, no pytest or
connector variables), under a bounded deadline. `tests/test_user_programs.py` runs the
connector-starts-Ray variant under every launcher.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from connector_core.testing.programs import run_program

pytestmark = [pytest.mark.ray, pytest.mark.crossprocess, pytest.mark.timeout(240)]

_ROOT = Path(__file__).resolve().parents[3]
_PROGRAM = Path(__file__).with_name("user_round_trip.py")
_DEADLINE = 180.0
"""Seconds for the script: starting a local Ray on a busy 2-core machine takes up to a minute."""


def _uv() -> str:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed (pip install uv): cannot run a script under uv run")
    return uv


def test_round_trip_after_ray_init_finishes_under_uv_run_no_sync() -> None:
    """`ray.init(num_cpus=2)` and one round trip, launched by `uv run --no-sync`."""
    command = [_uv(), "run", "--quiet", "--no-sync", "python", str(_PROGRAM)]
    what = f"`uv run --no-sync python {_PROGRAM.name}` (is the hub started through uv run?)"
    done = run_program(command, timeout=_DEADLINE, what=what, cwd=_ROOT)
    failure = f"{what} exited with {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-4000:]}"
    assert done.returncode == 0, failure
    assert "ROUND TRIP OK" in done.stdout, failure
