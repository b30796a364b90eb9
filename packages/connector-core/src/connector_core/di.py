"""`DI`: the dependency-injection container (dependency-injector) for settings and resources.

Connectors declare their dependencies as defaults, `settings: Settings = Provide[DI.settings]`,
as the reference API shows. The process-wide container instance is `container`; a backend
module calls `wire(__name__)` once, at import, so those defaults resolve.

Core declares only what every backend shares: `DI.settings` and `DI.job_id`. A backend's own
providers (its settings, its transport's connection or context) belong to the backend: its
package registers them with `register_provider()` when imported, and declares them under the
entry-point group `connector.providers` (provider name -> the provider object). Reading a name
that is not registered yet (`DI.<name>`, as user code does in `Provide[DI.<name>]` before
importing the backend) imports the module that the entry point of that name points at, which
registers it. So core imports no transport library and names no backend, and a backend that is
not installed is a `ProviderNotFoundError` that says what to install.

Tests override providers instead of patching modules, on the class or on the instance (they
share their providers)::

    from dependency_injector import providers
    with DI.settings.override(providers.Object(Settings(job_id="t1"))):
        ...
"""

from __future__ import annotations

import inspect
import threading
import uuid
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, TypeVar

from dependency_injector import containers, providers

from connector_core.exceptions import ProviderNotFoundError
from connector_core.settings import Settings

__all__ = [
    "DI",
    "PROVIDER_GROUP",
    "ProviderNotFoundError",
    "container",
    "new_job_id",
    "register_provider",
    "wire",
]

PROVIDER_GROUP = "connector.providers"
"""The entry-point group under which backends declare their providers (name -> provider)."""

P = TypeVar("P", bound=providers.Provider[Any])

_registering = threading.RLock()

if TYPE_CHECKING:
    _ContainerMeta = type
else:
    _ContainerMeta = type(containers.DeclarativeContainer)


def new_job_id() -> str:
    """Returns a fresh, short, random job id."""
    return uuid.uuid4().hex[:12]


def _job_id(settings: Settings) -> str:
    return settings.job_id or new_job_id()


def _declared() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=PROVIDER_GROUP)}


def _install_hint(name: str) -> str:
    backend = name.partition("_")[0]
    return (
        f"a backend's providers are named after it (`<backend>_...`): install that backend, "
        f"e.g. pip install connector-{backend}"
    )


def _load_declared(cls: type, name: str) -> providers.Provider[Any]:
    """Imports the backend that declares provider `name`, and returns the provider."""
    declared = _declared()
    ep = declared.get(name)
    if ep is None:
        names = set(getattr(cls, "providers", {})) | set(declared)
        known = sorted(n for n in names if not n.startswith("_"))
        raise ProviderNotFoundError(
            f"DI has no provider {name!r}: no installed package registers one (entry-point "
            f"group {PROVIDER_GROUP!r}); {_install_hint(name)}. Known providers: "
            f"{', '.join(known)}"
        )
    dist = ep.dist.name if ep.dist is not None else "the package that declares it"
    try:
        loaded = ep.load()  # importing the backend registers its providers
    except ImportError as exc:
        raise ProviderNotFoundError(
            f"DI.{name} comes from {dist} ({ep.value}), which does not import ({exc}); "
            f"reinstall it: pip install --force-reinstall {dist}"
        ) from exc
    registered: providers.Provider[Any] | None = getattr(cls, "providers", {}).get(name)
    if registered is not None:
        return registered
    if not isinstance(loaded, providers.Provider):
        raise TypeError(
            f"the entry point {name} = {ep.value!r} of {dist} (group {PROVIDER_GROUP!r}) is "
            f"{loaded!r}, not a dependency-injector provider"
        )
    return register_provider(name, loaded)


class _LazyProviders(_ContainerMeta):
    """`DI`'s metaclass: an unknown public name is looked up among the declared providers."""

    def __getattr__(cls, name: str) -> providers.Provider[Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        return _load_declared(cls, name)


class _ProcessContainer(containers.DynamicContainer):
    """The class of `container`: an unknown public name is looked up as on `DI`."""

    def __getattr__(self, name: str) -> providers.Provider[Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        provider: providers.Provider[Any] = getattr(DI, name)
        return provider


class DI(containers.DeclarativeContainer, metaclass=_LazyProviders):
    """The container of settings and shared resources, one per process.

    Besides the providers below, each installed backend provides its own (for example its
    settings and its transport's connection), registered by the backend: see the module
    docstring, and each backend's documentation for the names.
    """

    instance_type = _ProcessContainer

    settings = providers.Singleton(Settings)
    """The `Settings` read from the environment."""

    job_id = providers.Singleton(_job_id, settings=settings)
    """This process's default job id: `settings.job_id`, or generated once."""


def register_provider(name: str, provider: P) -> P:
    """Adds a backend's provider to `DI`, as `DI.<name>`, and to `container`.

    A backend calls this when the module that defines its providers is imported, and declares
    the same name under the `connector.providers` entry points (pointing at that module's
    attribute) so that `DI.<name>` finds it before the backend is imported. Registering the
    same provider again does nothing.

    Args:
        name: The provider's name: the backend's name first, by convention (`<backend>_conn`).
        provider: The provider.

    Returns:
        `provider`, so that a module can write `conn = register_provider("x_conn", ...)`.

    Raises:
        ValueError: If `name` is not a public identifier, or `DI` already has something else
            under that name.
    """
    if not name.isidentifier() or name.startswith("_"):
        raise ValueError(f"a provider name must be a public identifier, got {name!r}")
    with _registering:
        existing = DI.providers.get(name)
        if existing is provider:
            return provider
        taken = inspect.getattr_static(DI, name, None)
        if existing is not None or taken is not None:
            raise ValueError(f"DI.{name} already exists ({existing or taken!r})")
        setattr(DI, name, provider)
        process_container = globals().get("container")
        if process_container is not None:
            setattr(process_container, name, provider)
    return provider


def _process_container() -> DI:
    """Returns the process's container, whose providers are `DI`'s own class attributes.

    A `DeclarativeContainer` instance normally holds copies of the class's providers, so an
    override at class level (`DI.settings.override(...)`, as plugboard code writes it) would
    reach nothing. Sharing the providers makes `DI.x` and `container.x` one provider: an
    override, a reset or a resource through either is seen by every connector. Providers that
    backends register later are added to both (`register_provider()`).
    """
    with _registering:
        instance = DI()
        for name, provider in DI.providers.items():
            if not isinstance(provider, providers.Self):
                setattr(instance, name, provider)
    return instance


container = _process_container()
"""The process-wide container that `Provide[DI.x]` defaults resolve against.

Its providers are `DI`'s: `DI.settings.override(...)` and `container.settings.override(...)`
do the same thing.
"""


def wire(*modules: str) -> None:
    """Wires modules (by name) so that their `@inject` functions resolve `Provide[DI.x]`."""
    container.wire(modules=list(modules))
