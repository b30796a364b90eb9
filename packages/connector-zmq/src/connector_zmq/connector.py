"""`ZMQConnector`: hands out the channels of one brokerless ZeroMQ connection.

Making a connector does no I/O: it takes its codec (`settings.make_codec()`: a random key,
or the shared secret) and the interface to listen on (`zmq_address="tcp://HOST"` if given,
else `zmq_settings.bind_host`; loopback by default, another interface only when
`bind_host` allows other hosts too). The connection's rendezvous
(`connector_zmq.rendezvous`) starts in this process the first time it is needed here: the
first `connect_send()` / `connect_recv()`, reading `zmq_address`, or pickling the connector.
Pickling therefore always carries a live address: the pickled state is the spec, `maxsize`,
the codec (with its key), the interface and the rendezvous address, so an unpickled copy in
a spawned process joins the same connection. When the connector object is collected, the
rendezvous stops once nobody is connected (see `connector_zmq.rendezvous`).
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import weakref
from typing import Any, ClassVar, TypeVar

import zmq
import zmq.asyncio
from dependency_injector.wiring import Provide, inject

from connector_core.connector import Connector
from connector_core.di import DI, wire
from connector_core.exceptions import ChannelClosedError
from connector_core.serde import Codec, Serializer
from connector_core.settings import Settings
from connector_core.spec import ConnectorMode
from connector_zmq import protocol as p
from connector_zmq.channel import ZMQChannel
from connector_zmq.di import zmq_context
from connector_zmq.interface import is_loopback, parse_interface
from connector_zmq.link import LinkSetup
from connector_zmq.receiver import ReceiverLink
from connector_zmq.rendezvous import Rendezvous
from connector_zmq.sender import SenderLink
from connector_zmq.settings import ZMQSettings

__all__ = ["ZMQConnector"]

_L = TypeVar("_L", SenderLink, ReceiverLink)


class ZMQConnector(Connector):
    """ZMQConnector connects components using ZMQChannel.

    Any number of senders and receivers, in any processes, in pipeline or pubsub mode; see
    the `connector_zmq` package docstring for the topology.
    """

    maxsize_limit: ClassVar[int | None] = p.MAX_COUNT
    """Credits travel as 4-byte unsigned counts: `maxsize` is at most `2**32 - 1`."""

    @inject
    def __init__(
        self,
        *args: Any,
        settings: Settings = Provide[DI.settings],
        serializer: Serializer | str | None = None,
        zmq_address: str | None = None,
        zmq_settings: ZMQSettings = Provide[DI.zmq_settings],
        **kwargs: Any,
    ) -> None:
        """Creates the connector; does no I/O and needs no running event loop.

        Args:
            *args: The spec, then anything `Connector` accepts.
            settings: Optional; defaults to the process's `Settings` (from `DI`).
            serializer: Optional; overrides the `serializer` setting (a name or an object).
            zmq_address: Optional; the interface this connection listens on, as
                `"tcp://HOST"` (the reference API's way of choosing it); each socket takes a
                free port. Defaults to `zmq_settings.bind_host`. An interface other than
                loopback is accepted only when `zmq_settings.bind_host` is not loopback either
                (`CONNECTOR_ZMQ_BIND_HOST`): listening beyond this machine is an explicit
                setting.
            zmq_settings: Optional; connector-zmq's own settings (`bind_host`,
                `join_timeout`, `in_process`), from `DI.zmq_settings` by default.
            **kwargs: Passed to `Connector` (e.g. `maxsize=`).

        Raises:
            TypeError: If `settings` is not a `Settings` instance, `zmq_settings` not a
                `ZMQSettings` instance, or `zmq_address` not a string.
            ValueError: If `zmq_address` is not `tcp://HOST`, or names an interface other
                than loopback while `zmq_settings.bind_host` is loopback.
        """
        super().__init__(*args, **kwargs)
        if not isinstance(settings, Settings):
            raise TypeError(f"settings must be a connector_core.Settings, got {settings!r}")
        if not isinstance(zmq_settings, ZMQSettings):
            raise TypeError(f"zmq_settings must be a ZMQSettings, got {zmq_settings!r}")
        self._bind_host: str = zmq_settings.bind_host
        if zmq_address is not None:
            self._bind_host = _interface(zmq_address, zmq_settings.bind_host)
        # a zmq connection is joined only through this connector (pickled), so its id is
        # random: frames of any other connection, even one sharing the secret, are refused
        self._codec: Codec = settings.make_codec(serializer).bound(
            f"zmq:{self.spec.id}:{secrets.token_hex(16)}"
        )
        self._end_grace: float = zmq_settings.end_grace_for(settings)
        self._join_timeout: float = zmq_settings.join_timeout
        self._in_process: bool = zmq_settings.in_process
        self._address: str | None = None
        self._rendezvous: Rendezvous | None = None
        self._lock = threading.Lock()

    @property
    def codec(self) -> Codec:
        """The codec every channel of this connection signs and verifies with."""
        return self._codec

    @property
    def zmq_address(self) -> str:
        """The ZMQ address used for communication: the connection's rendezvous.

        Reading it starts the rendezvous in this process if nothing did yet.

        Raises:
            ChannelSetupError: If the interface (`zmq_address=` or `zmq_settings.bind_host`)
                cannot be bound.
        """
        return self._ensure_rendezvous()

    def _ensure_rendezvous(self) -> str:
        with self._lock:
            if self._address is None:
                self._rendezvous = Rendezvous(
                    pubsub=self.spec.mode is ConnectorMode.PUBSUB,
                    bind_host=self._bind_host,
                    codec=self._codec,
                    end_grace=self._end_grace,
                    join_timeout=self._join_timeout,
                )
                self._address = self._rendezvous.address
                # when this object is gone it makes no more channels: the rendezvous may stop
                # once nobody is connected (see `connector_zmq.rendezvous`)
                finalizer = weakref.finalize(self, self._rendezvous.orphan)
                finalizer.atexit = False  # at exit the rendezvous stops anyway
            return self._address

    def _check_live(self) -> str:
        address = self._ensure_rendezvous()
        if self._rendezvous is not None and not self._rendezvous.running:
            raise ChannelClosedError(
                f"the connection {self.id!r} is over (every sender closed and every receiver "
                "left); build a new connector"
            )
        return address

    @staticmethod
    def _context() -> zmq.asyncio.Context:
        context: object = zmq_context()  # an override may give a plain zmq.Context
        if isinstance(context, zmq.asyncio.Context):
            return context
        if isinstance(context, zmq.Context):
            return zmq.asyncio.Context.shadow(context.underlying)
        raise TypeError(f"DI.zmq_context must provide a zmq.Context, got {context!r}")

    async def _joined(self) -> None:
        if self._rendezvous is not None:
            await asyncio.to_thread(self._rendezvous.join)

    def _new_link(self, kind: type[_L]) -> _L:
        """A sending or receiving link of this connection (`open()` it next)."""
        address = self._check_live()
        return kind(
            LinkSetup(
                self._context(),
                address,
                self._codec,
                pubsub=self.spec.mode is ConnectorMode.PUBSUB,
                maxsize=self.maxsize,
                on_finished=self._joined,
                in_process=self._in_process,
            )
        )

    def _channel_args(self) -> dict[str, Any]:
        # the link's sockets and pump live in this loop: the channel belongs to it
        return {"maxsize": self.maxsize, "codec": self._codec, "loop": asyncio.get_running_loop()}

    async def connect_send(self) -> ZMQChannel:
        """Returns a ZMQChannel for sending messages.

        Raises:
            ChannelClosedError: If every sender of this connection has already closed.
            ChannelSetupError: If the rendezvous cannot be reached or bound.
        """
        link = self._new_link(SenderLink)
        await link.open()
        return ZMQChannel(sender=link, **self._channel_args())

    async def connect_recv(self) -> ZMQChannel:
        """Returns a ZMQChannel for receiving messages, connected to every sender on return.

        Raises:
            ChannelClosedError: If the connection is over.
            ChannelSetupError: If binding fails or the rendezvous cannot be reached.
        """
        link = self._new_link(ReceiverLink)
        await link.open(self._bind_host)
        return ZMQChannel(receiver=link, **self._channel_args())

    def __getstate__(self) -> dict[str, Any]:
        address = self._ensure_rendezvous()
        if self._rendezvous is not None:
            self._rendezvous.shared = True
        return {
            "spec": self.spec,
            "maxsize": self.maxsize,
            "codec": self._codec,
            "bind_host": self._bind_host,
            "end_grace": self._end_grace,
            "in_process": self._in_process,
            "address": address,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.spec = state["spec"]
        self.maxsize = state["maxsize"]
        self._codec = state["codec"]
        self._bind_host = state["bind_host"]
        self._end_grace = state["end_grace"]
        self._in_process = state["in_process"]
        self._address = state["address"]
        self._rendezvous = None
        self._lock = threading.Lock()


def _interface(zmq_address: str, bind_host: str) -> str:
    """The host of `zmq_address`, refused beyond loopback unless `bind_host` allows that."""
    host = parse_interface(zmq_address)
    if not is_loopback(host) and is_loopback(bind_host):
        raise ValueError(
            f"zmq_address={zmq_address!r} would listen beyond this machine, and listening on "
            "other interfaces is an explicit setting: set CONNECTOR_ZMQ_BIND_HOST (or "
            f"ZMQSettings(bind_host=...)) to {host!r} or another non-loopback address to allow "
            "it, or pass a loopback address such as 'tcp://127.0.0.1'"
        )
    return host


wire(__name__)
