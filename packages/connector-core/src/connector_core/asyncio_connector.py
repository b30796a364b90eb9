"""`AsyncioConnector`: the embedded, in-process backend (registered as `asyncio`).

All channels of one connector share a private hub in this process (see
`connector_core.asyncio_channel` for the topology). It needs no service and no threads, and
it cannot cross a process boundary: pickling it raises `TypeError`.
"""

from __future__ import annotations

from typing import Any, NoReturn

from connector_core.asyncio_channel import _RECV, _SEND, AsyncioChannel, _elsewhere, _Hub
from connector_core.channel import CHAN_MAXSIZE
from connector_core.connector import Connector

__all__ = ["AsyncioConnector"]


class AsyncioConnector(Connector):
    """AsyncioConnector connects components using AsyncioChannel."""

    def __init__(self, *args: Any, maxsize: int = CHAN_MAXSIZE, **kwargs: Any) -> None:
        """Creates the connector; does no I/O and needs no running event loop.

        Args:
            *args: The spec, then anything `Connector` accepts.
            maxsize: Optional; each buffer's capacity in items (`<= 0`: unbounded).
            **kwargs: Passed to `Connector`.
        """
        super().__init__(*args, maxsize=maxsize, **kwargs)
        self._hub = _Hub(self.spec.mode, maxsize)

    async def connect_send(self) -> AsyncioChannel:
        """Returns an AsyncioChannel for sending messages.

        Raises:
            ChannelClosedError: If every sender of this connector has already closed.
        """
        return AsyncioChannel._attach(self._hub, _SEND)

    async def connect_recv(self) -> AsyncioChannel:
        """Returns an AsyncioChannel for receiving messages, subscribed on return."""
        return AsyncioChannel._attach(self._hub, _RECV)

    def __reduce__(self) -> NoReturn:
        raise TypeError(
            f"{self!r} is in-process only and cannot be pickled to another process; {_elsewhere()}"
        )
