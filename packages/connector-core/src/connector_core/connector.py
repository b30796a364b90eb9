"""`Connector` and `ConnectorBuilder`: what hands out the channels of one connection.

A connector is built from a `ConnectorSpec` without I/O and without an event loop, so config
code can build many. `await connect_send()` and `await connect_recv()` each add one more
sender or receiver to the same logical connection and return its `Channel`.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Generic, Self, TypeVar

from connector_core.channel import CHAN_MAXSIZE, Channel
from connector_core.export import ExportMixin
from connector_core.spec import ConnectorSpec

__all__ = ["Connector", "ConnectorBuilder"]

C = TypeVar("C", bound="Connector")


class Connector(ABC, ExportMixin):
    """Connector provides Channels for communication between a specified source and target."""

    maxsize_limit: ClassVar[int | None] = None
    """The largest `maxsize` the backend's transport can honour (None: no limit)."""

    def __init__(
        self,
        spec: ConnectorSpec | dict[str, Any],
        *args: Any,
        maxsize: int = CHAN_MAXSIZE,
        **kwargs: Any,
    ) -> None:
        """Creates a connector; does no I/O.

        Args:
            spec: What to connect, as a `ConnectorSpec` or its dict form.
            *args: None are accepted: a subclass consumes its own arguments.
            maxsize: Optional; the capacity of each channel this connector makes
                (`<= 0`: unbounded).
            **kwargs: None are accepted: a subclass consumes its own options, so a keyword
                that reaches here is one no class of this connector knows.

        Raises:
            TypeError: If `spec` is neither a `ConnectorSpec` nor a dict, `maxsize` is not
                an int, or an argument is left that no class of this connector accepts
                (the message lists the accepted ones).
            ValueError: If the dict form of `spec` is malformed, or `maxsize` is above the
                backend's `maxsize_limit`.
        """
        if args or kwargs:
            raise TypeError(self._unknown_arguments_message(args, kwargs))
        if isinstance(spec, dict):
            spec = ConnectorSpec(**spec)
        if not isinstance(spec, ConnectorSpec):
            raise TypeError(f"spec must be a ConnectorSpec or a dict, got {spec!r}")
        if isinstance(maxsize, bool) or not isinstance(maxsize, int):
            raise TypeError(f"maxsize must be an int (<= 0 for unbounded), got {maxsize!r}")
        limit = type(self).maxsize_limit
        if limit is not None and maxsize > limit:
            raise ValueError(
                f"maxsize={maxsize} is too large for {type(self).__name__}: its transport "
                f"holds at most {limit} items per channel; pass maxsize <= {limit}"
            )
        self.spec = spec
        self.maxsize = maxsize

    @classmethod
    def accepted_arguments(cls) -> list[str]:
        """Returns the keyword arguments this connector class accepts, sorted.

        They are the named parameters of `__init__` on every class of the connector's MRO
        (the spec, `maxsize` and each backend's own options).
        """
        names: set[str] = set()
        for klass in cls.__mro__:
            init = vars(klass).get("__init__")
            if init is None or klass is object:
                continue
            for parameter in inspect.signature(init).parameters.values():
                if parameter.name != "self" and parameter.kind in (
                    inspect.Parameter.POSITIONAL_OR_KEYWORD,
                    inspect.Parameter.KEYWORD_ONLY,
                ):
                    names.add(parameter.name)
        return sorted(names)

    def _unknown_arguments_message(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        name = type(self).__name__
        accepted = ", ".join(f"{arg}=" for arg in type(self).accepted_arguments())
        if kwargs:
            unknown = ", ".join(sorted(kwargs))
            return f"{name} got unexpected keyword argument(s): {unknown}. It accepts: {accepted}"
        return (
            f"{name} takes the spec as its only positional argument, got {len(args)} more: "
            f"{args!r}. Pass options by keyword; it accepts: {accepted}"
        )

    @property
    def id(self) -> str:
        """Unique ID for Connector: the spec's id, `"<source>..<target>"`."""
        return self.spec.id

    @classmethod
    def builder(cls, *args: Any, **kwargs: Any) -> ConnectorBuilder[Self]:
        """Returns a ConnectorBuilder for this Connector class.

        Args:
            *args: Positional arguments every built connector receives after the spec.
            **kwargs: Keyword arguments every built connector receives.
        """
        return ConnectorBuilder(cls, *args, **kwargs)

    @abstractmethod
    async def connect_send(self) -> Channel:
        """Returns a Channel for sending messages.

        Raises:
            ChannelSetupError: If the transport cannot be reached or set up.
        """

    @abstractmethod
    async def connect_recv(self) -> Channel:
        """Returns a Channel for receiving messages.

        The channel is really subscribed when this returns: a message sent afterwards is
        delivered to it.

        Raises:
            ChannelSetupError: If the transport cannot be reached or set up.
        """

    def export(self) -> dict[str, Any]:
        """Returns the spec as a dict: `{"source", "target", "mode"}`."""
        return self.spec.to_dict()

    def dict(self) -> dict[str, Any]:
        """Returns the connector's type, id and spec as a dict."""
        return {**super().dict(), "id": self.id}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.id!r}, mode={self.spec.mode.value!r})"


class ConnectorBuilder(Generic[C]):
    """Builds connectors of one class with the same extra arguments for many specs."""

    def __init__(self, connector_cls: type[C], *args: Any, **kwargs: Any) -> None:
        """Creates a builder.

        Args:
            connector_cls: The connector class to build.
            *args: Positional arguments passed after the spec.
            **kwargs: Keyword arguments passed to every connector.

        Raises:
            TypeError: If `connector_cls` is not a `Connector` subclass.
        """
        if not (isinstance(connector_cls, type) and issubclass(connector_cls, Connector)):
            raise TypeError(f"{connector_cls!r} is not a Connector subclass")
        self.connector_cls = connector_cls
        self.args = args
        self.kwargs = kwargs

    def build(self, spec: ConnectorSpec | dict[str, Any]) -> C:
        """Returns a new connector for `spec` with this builder's arguments.

        Args:
            spec: What to connect, as a `ConnectorSpec` or its dict form.

        Returns:
            The connector, an instance of the builder's class.

        Raises:
            TypeError: If `spec` is neither a `ConnectorSpec` nor a dict.
            ValueError: If the dict form of `spec` is malformed.
        """
        return self.connector_cls(spec, *self.args, **self.kwargs)

    def __repr__(self) -> str:
        return f"ConnectorBuilder({self.connector_cls.__name__}, kwargs={self.kwargs!r})"
