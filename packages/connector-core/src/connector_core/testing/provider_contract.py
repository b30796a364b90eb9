"""`ProviderContract`: what every backend's providers in `connector_core.DI` must do.

A backend that registers providers (`connector_core.di.register_provider`) and declares them
under the `connector.providers` entry points subclasses it in its `tests/test_di.py`::

    from connector_core.testing import ProviderContract

    class TestMyProviders(ProviderContract):
        module = "my_backend.di"
        provider_names = ("my_conn", "my_settings")

The tests check that each name is declared, registered and the module's own provider, and
that user code can inject and override `DI.<name>` before the backend is imported.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from importlib.metadata import entry_points
from typing import ClassVar

from connector_core.di import DI, PROVIDER_GROUP, container

__all__ = ["ProviderContract"]

# A user's module, in a fresh interpreter, that names DI.<first name> before it imports the
# backend (as the reference API's signatures do), injects and overrides it, then imports the
# backend's module: every DI.<name> it saw is that module's provider. Needs no service.
_BEFORE_IMPORT = """
import importlib, sys
from dependency_injector import providers
from dependency_injector.wiring import Provide, inject
from connector_core import DI
from connector_core.di import wire

module_name, names = sys.argv[1], sys.argv[2:]
assert module_name.partition(".")[0] not in sys.modules, "imported too early"

@inject
def which(value=Provide[getattr(DI, names[0])]):
    return value

wire(__name__)
with getattr(DI, names[0]).override(providers.Object("overridden")):
    assert which() == "overridden", which()
seen = {name: getattr(DI, name) for name in names}
module = importlib.import_module(module_name)
for name in names:
    assert seen[name] is getattr(module, name), name
print("ok")
"""


class ProviderContract:
    """The providers a backend adds to `DI`: subclass as `Test<Backend>Providers`."""

    module: ClassVar[str]
    """The backend's module that registers the providers (e.g. `"connector_x.di"`)."""
    provider_names: ClassVar[tuple[str, ...]]
    """Every provider name the backend declares; user code injects the first."""

    def test_every_provider_is_declared_registered_and_the_modules_own(self) -> None:
        """`DI.<name>`, `container.<name>` and the entry point are the module's provider."""
        module = importlib.import_module(self.module)
        for name in self.provider_names:
            [ep] = [ep for ep in entry_points(group=PROVIDER_GROUP) if ep.name == name]
            provider = getattr(module, name)
            assert ep.load() is provider, name
            assert getattr(DI, name) is provider, name
            assert getattr(container, name) is provider, name

    def test_di_providers_work_before_the_backend_is_imported(self) -> None:
        """`Provide[DI.<name>]` and its override work in a program that imports no backend."""
        proc = subprocess.run(
            [sys.executable, "-c", _BEFORE_IMPORT, self.module, *self.provider_names],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "ok"
