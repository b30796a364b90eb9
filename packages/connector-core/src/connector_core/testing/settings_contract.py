"""`SettingsContract`: what every backend's settings class must do.

A backend whose settings class (derived from `connector_core.settings.SettingsBase`) is
declared under the `connector.settings` entry points subclasses it in its
`tests/test_settings.py`::

    from connector_core.testing import SettingsContract

    class TestMySettingsContract(SettingsContract):
        settings_class = MySettings
        backend = "my"

The tests check that the class is declared, that a keyword it does not know is refused, and
that each of its settings given to the common `Settings` says where it belongs. For an
`OwnGraceSettings`, also that the old `<PREFIX>END_GRACE` still works, with a warning, and
that `CONNECTOR_END_GRACE` wins over it. Needs no service. `clear_settings_environment`
unsets the variables of settings classes, for tests that read the environment.
"""

from __future__ import annotations

import re
from typing import ClassVar

import pytest

from connector_core.settings import (
    ENV_PREFIX,
    OwnGraceSettings,
    Settings,
    SettingsBase,
    env_names,
    settings_classes,
)

__all__ = ["SettingsContract", "clear_settings_environment"]


def clear_settings_environment(
    monkeypatch: pytest.MonkeyPatch, *classes: type[SettingsBase]
) -> None:
    """Unsets every environment variable that sets a field of `classes`, for this test.

    Args:
        monkeypatch: pytest's monkeypatch of the test.
        *classes: Settings classes (`Settings`, a backend's).
    """
    for cls in classes:
        for name in cls.model_fields:
            for variable in env_names(cls, name):
                monkeypatch.delenv(variable, raising=False)


class SettingsContract:
    """A backend's settings class: subclass as `Test<Backend>SettingsContract`."""

    settings_class: ClassVar[type[SettingsBase]]
    """The backend's settings class."""
    backend: ClassVar[str]
    """The backend's name: its entry point under `connector.settings`."""

    def test_the_settings_class_is_declared_under_the_settings_entry_points(self) -> None:
        """`connector doctor` and the configuration page find the class by the name."""
        assert settings_classes()[self.backend] is self.settings_class

    def test_an_unknown_keyword_is_refused(self) -> None:
        """A misspelt setting raises `TypeError` naming the class, not silently ignored."""
        with pytest.raises(TypeError, match=self.settings_class.__name__):
            self.settings_class(no_such_setting=1)

    def test_a_backend_setting_given_to_the_common_settings_says_where_it_belongs(self) -> None:
        """`Settings(<backend>_<field>=...)` names the class and field, or the common one."""
        cls = self.settings_class
        for name in cls.model_fields:
            if name in Settings.model_fields:  # the common setting is meant
                where = f"did you mean {name!r}"
            else:
                where = re.escape(f"{cls.__module__}.{cls.__qualname__}({name}=...)")
            with pytest.raises(TypeError, match=where):
                Settings(**{f"{self.backend}_{name}": None})

    def test_the_old_end_grace_variable_works_with_a_deprecation_warning(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`<PREFIX>END_GRACE` warns and applies; `CONNECTOR_END_GRACE` wins over it.

        Args:
            monkeypatch: pytest's monkeypatch of the test.
        """
        cls = self.settings_class
        if not issubclass(cls, OwnGraceSettings):
            pytest.skip(f"{cls.__name__} has no end grace of its own")
        monkeypatch.delenv(f"{ENV_PREFIX}END_GRACE", raising=False)
        monkeypatch.setenv(f"{cls.model_config.get('env_prefix', '')}END_GRACE", "7")
        with pytest.warns(DeprecationWarning, match=f"{ENV_PREFIX}END_GRACE"):
            settings = cls()
        assert settings.end_grace_for(Settings(_env_file=None)) == 7.0
        assert settings.end_grace_for(Settings(end_grace=1)) == 1.0
