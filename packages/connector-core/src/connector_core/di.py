"""`DI`: the dependency-injection container (dependency-injector) for settings and resources.

Connectors declare their dependencies as defaults, `settings: Settings = Provide[DI.settings]`,
as the reference API shows. The process-wide container instance is `container`; a backend
module calls `wire(__name__)` once, at import, so those defaults resolve.

Transport resources (the ZeroMQ context, the RabbitMQ connection) are declared here but built
by the backend package that owns the transport, imported only when first used: core never
imports a transport library. Tests override providers instead of patching modules, on the
class or on the instance (they share their providers)::

    from dependency_injector import providers
    with DI.settings.override(providers.Object(Settings(job_id="t1"))):
        ...
"""

from __future__ import annotations

import contextlib
import importlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from dependency_injector import containers, providers, resources

from connector_core.exceptions import ChannelSetupError
from connector_core.settings import Settings

__all__ = ["DI", "container", "new_job_id", "wire"]


def new_job_id() -> str:
    """Returns a fresh, short, random job id."""
    return uuid.uuid4().hex[:12]


def _job_id(settings: Settings) -> str:
    return settings.job_id or new_job_id()


def _load(target: str, distribution: str) -> Callable[..., Any]:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            raise ChannelSetupError(
                f"{target} needs the {distribution} package: pip install {distribution}"
            ) from exc
        raise
    func: Callable[..., Any] = getattr(module, attr)
    return func


def _lazy_sync_resource(target: str, distribution: str) -> type[resources.Resource[Any]]:
    """Returns a resource class that imports and enters `target` (a generator function)."""

    class LazyResource(resources.Resource[Any]):
        def init(self, *args: Any, **kwargs: Any) -> Any:
            self._context = contextlib.contextmanager(_load(target, distribution))(**kwargs)
            return self._context.__enter__()

        def shutdown(self, resource: Any) -> None:
            self._context.__exit__(None, None, None)

    LazyResource.__name__ = LazyResource.__qualname__ = target.rpartition(":")[2]
    return LazyResource


def _lazy_coroutine(target: str, distribution: str) -> Callable[..., Awaitable[Any]]:
    """Returns a coroutine function that imports `target` and awaits it."""

    async def call(*args: Any, **kwargs: Any) -> Any:
        return await _load(target, distribution)(*args, **kwargs)

    call.__name__ = call.__qualname__ = target.rpartition(":")[2]
    return call


class DI(containers.DeclarativeContainer):
    """The container of settings and shared transport resources, one per process."""

    settings = providers.Singleton(Settings)
    """The `Settings` read from the environment."""

    job_id = providers.Singleton(_job_id, settings=settings)
    """This process's default job id: `settings.job_id`, or generated once."""

    zmq_context = providers.Resource(
        _lazy_sync_resource("connector_zmq.context:zmq_context", "connector-zmq"),
        settings=settings,
    )
    """The process's `zmq.asyncio.Context`, built by connector-zmq."""

    rabbitmq_conn = providers.Coroutine(
        _lazy_coroutine("connector_rabbitmq.connection:loop_connection", "connector-rabbitmq"),
        settings=settings,
    )
    """The running event loop's robust aio-pika connection, built by connector-rabbitmq
    (one per loop, held once more per call, closed when its last channel closes or its
    loop shuts down)."""


def _process_container() -> DI:
    """Returns the process's container, whose providers are `DI`'s own class attributes.

    A `DeclarativeContainer` instance normally holds copies of the class's providers, so an
    override at class level (`DI.settings.override(...)`, as plugboard code writes it) would
    reach nothing. Sharing the providers makes `DI.x` and `container.x` one provider: an
    override, a reset or a resource through either is seen by every connector.
    """
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
