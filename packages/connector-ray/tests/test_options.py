"""How a hub actor is launched: independent of `uv run`, yielding to the user's own choice."""

from __future__ import annotations

import sys

import pytest

from connector_ray.options import is_uv_run, launch_options

UV_RUN = {"py_executable": "/usr/bin/uv run --no-sync --python 3.11.7 python", "working_dir": "x"}
"""The job runtime environment Ray's `uv run` integration gives a script run by `uv run`."""


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/root/.local/bin/uv run --python 3.11.7 python", True),
        ("uv run --no-sync python", True),
        ("uv pip", False),
        ("/usr/bin/python3", False),
        ("nsys profile python", False),
        (None, False),
        ("'unbalanced", False),
    ],
)
def test_is_uv_run_recognises_the_uv_run_command(command: str | None, expected: bool) -> None:
    assert is_uv_run(command) is expected


def test_under_uv_run_the_hub_runs_on_this_interpreter_preferring_this_node() -> None:
    options = launch_options({"num_cpus": 0}, UV_RUN, "ab" * 28)
    assert options["num_cpus"] == 0
    assert options["runtime_env"] == {"py_executable": sys.executable}
    strategy = options["scheduling_strategy"]
    assert (strategy.node_id, strategy.soft) == ("ab" * 28, True)


def test_without_uv_run_the_options_are_unchanged() -> None:
    assert launch_options({"num_cpus": 0}, {}, "ab" * 28) == {"num_cpus": 0}
    assert launch_options({"num_cpus": 0}, {"py_executable": "nsys python"}, None) == {
        "num_cpus": 0
    }


def test_the_users_runtime_env_keeps_its_other_fields() -> None:
    options = launch_options({"runtime_env": {"env_vars": {"A": "1"}}}, UV_RUN, None)
    assert options == {"runtime_env": {"env_vars": {"A": "1"}, "py_executable": sys.executable}}


@pytest.mark.parametrize("field", ["py_executable", "pip", "uv", "conda", "image_uri"])
def test_a_users_runtime_env_that_picks_the_python_wins(field: str) -> None:
    options = {"runtime_env": {field: "theirs"}}
    assert launch_options(options, UV_RUN, "ab" * 28) == options


def test_a_users_scheduling_strategy_wins() -> None:
    options = launch_options({"scheduling_strategy": "SPREAD"}, UV_RUN, "ab" * 28)
    assert options["scheduling_strategy"] == "SPREAD"
    assert options["runtime_env"] == {"py_executable": sys.executable}
