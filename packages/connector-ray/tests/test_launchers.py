"""A user script's round trip finishes however Python was launched, `uv run --no-sync` too.

Ray 2.x starts the workers of a driver launched by `uv run` through `uv run` again, in a copy
of the working directory; under `uv run --no-sync` that copy's fresh environment has no Ray,
so a hub actor started that way never came up and the script hung. The hub is the library's
own machinery: it now starts on the driver's interpreter. The script runs as a user runs it:
a subprocess from the workspace root with a clean environment (no `RAY_*`, no pytest or
connector variables), under a bounded deadline.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ray, pytest.mark.crossprocess, pytest.mark.timeout(240)]

_ROOT = Path(__file__).resolve().parents[3]
_PROGRAM = Path(__file__).with_name("user_round_trip.py")
_KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
"""What a user's shell passes on; everything else (RAY_*, PYTEST_*, VIRTUAL_ENV) is left out."""
_DEADLINE = 180.0
"""Seconds for the script: starting a local Ray on a busy 2-core machine takes up to a minute."""


def _uv() -> str:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed (pip install uv): cannot run a script under uv run")
    return uv


@pytest.mark.parametrize("start", ["init", "lazy"])
def test_round_trip_finishes_under_uv_run_no_sync(start: str) -> None:
    """`ray.init(num_cpus=2)` (or none) and one round trip, launched by `uv run --no-sync`."""
    command = [_uv(), "run", "--quiet", "--no-sync", "python", str(_PROGRAM), start]
    env = {name: os.environ[name] for name in _KEPT if name in os.environ}
    process = subprocess.Popen(
        command,
        cwd=_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a hang is ended with the Ray processes it started
    )
    try:
        output, _ = process.communicate(timeout=_DEADLINE)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(
            f"`{' '.join(command[1:])}` did not finish within {_DEADLINE:.0f} s: the hub "
            f"actor's worker must not start through `uv run`. Output:\n{output[-4000:]}"
        )
    failure = f"`{' '.join(command[1:])}` exited with {process.returncode}:\n{output[-4000:]}"
    assert process.returncode == 0, failure
    assert "ROUND TRIP OK" in output, failure
