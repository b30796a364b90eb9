"""Job ids are matched in full wherever one is accepted (they become broker and actor names)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from connector_core import Settings
from connector_core.spec import check_job_id

BAD_JOB_IDS = ["run-1\n", "run-1\r", " run-1", "run 1", "run/1", "", "x" * 65]


@pytest.mark.parametrize("job_id", ["run-1", "a", "x" * 64, "nightly_2026-11-25", "0"])
def test_check_job_id_returns_a_valid_job_id_unchanged(job_id: str) -> None:
    assert check_job_id(job_id) == job_id


@pytest.mark.parametrize("job_id", BAD_JOB_IDS)
def test_check_job_id_refuses_anything_but_1_to_64_name_characters(job_id: str) -> None:
    with pytest.raises(ValueError, match=r"invalid job_id .*1-64 letters, digits"):
        check_job_id(job_id)


def test_check_job_id_refuses_a_non_string() -> None:
    with pytest.raises(ValueError, match="invalid job_id 7"):
        check_job_id(7)


@pytest.mark.parametrize("job_id", BAD_JOB_IDS)
def test_settings_refuse_a_bad_job_id_saying_what_is_allowed(job_id: str) -> None:
    with pytest.raises(ValidationError, match=r"job_id\n.*invalid job_id"):
        Settings(_env_file=None, job_id=job_id)


def test_settings_refuse_a_job_id_with_a_trailing_newline_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONNECTOR_JOB_ID", "nightly\n")
    with pytest.raises(ValidationError, match="invalid job_id 'nightly\\\\n'"):
        Settings(_env_file=None)
