"""Running a user's program the way the user runs it: a subprocess with a clean environment.

Tests of "works the way users run it" start short scripts under `uv run`, `uv run --no-sync`
or a plain interpreter. This module gives them the environment a user's shell would pass
(nothing a test fixture might have set: no `RAY_*`, `CONNECTOR_*` or pytest variables) and a
bounded run: on a deadline the program's whole process group (a spawned worker, Ray's helper
processes) is killed and the test fails with what the program printed, never hangs.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

__all__ = ["USER_VARIABLES", "run_program", "user_environment"]

USER_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "RABBITMQ_URL", "REDIS_URL")
"""What a user's shell passes on: the path, home, locale, temp folder and service URLs."""


def user_environment(*keep: str) -> dict[str, str]:
    """Returns the variables of `USER_VARIABLES` (and `keep`) that are set here.

    Args:
        *keep: Further variable names to pass on when set.
    """
    names = (*USER_VARIABLES, *keep)
    return {name: os.environ[name] for name in names if name in os.environ}


def run_program(
    command: Sequence[str],
    *,
    timeout: float,
    what: str,
    cwd: Path | str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Runs `command` in its own session, failing the test if it outlives `timeout`.

    Args:
        command: The program and its arguments.
        timeout: Seconds the program may take.
        what: How the failure message names the program (e.g. "round_trip.py on asyncio").
        cwd: Optional; the working folder.
        env: Optional; the environment, `user_environment()` by default.

    Returns:
        The finished process with its exit code, stdout and stderr (the caller asserts).
    """
    with subprocess.Popen(
        list(command),
        cwd=cwd,
        env=user_environment() if env is None else env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # so a hang is ended with everything it started
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            pytest.fail(
                f"{what} did not finish within {timeout:g} s (a hang).\n"
                f"--- stdout ---\n{stdout[-4000:]}\n--- stderr ---\n{stderr[-4000:]}"
            )
    return subprocess.CompletedProcess(list(command), process.returncode, stdout, stderr)
