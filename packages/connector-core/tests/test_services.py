from __future__ import annotations

import pytest

from connector_core.testing import in_ci, skip_or_fail


def test_missing_service_skips_on_a_developer_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert not in_ci()
    with pytest.raises(pytest.skip.Exception, match="broker down"):
        skip_or_fail("broker down")


def test_missing_service_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert in_ci()
    with pytest.raises(pytest.fail.Exception, match="broker down.*CI is set"):
        skip_or_fail("broker down")
