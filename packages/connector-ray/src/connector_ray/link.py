"""`HubLink`: a connection's hub actor as the transports of one channel see it.

The send transport (`connector_ray.sender`) and the receive transport
(`connector_ray.receiver`) talk to the hub through one `HubLink`: its handle and name, the
hub's last counts of open senders and receivers, the `Member` (id and token from `register`,
see `connector_ray.hub`) each presents in every call, and the rule that whoever is told
`release` records the end (the hub then ends itself: `connector_ray.runtime`). A link
without a handle belongs to a connection that had ended. A standalone channel's link
creates a private hub at first use and registers both ends.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from typing import Any, NamedTuple

from connector_core.exceptions import ChannelClosedError
from connector_ray import runtime
from connector_ray.hub_protocol import Reply, Role, hub_verifier

__all__ = ["HubLink", "Member"]


class Member(NamedTuple):
    """A registered sender or receiver: what it presents in every hub call."""

    ident: int
    token: bytes


class HubLink:
    """The hub actor of one connection, shared by the transports of a channel."""

    def __init__(
        self, handle: Any, name: str | None, role: str = "", joined: Reply | None = None
    ) -> None:
        """Links to a hub actor found or created by the connector.

        Args:
            handle: The hub's actor handle; None for a connection that had already ended.
            name: The hub's name (its tombstone is written under it when it is released).
            role: Optional; `Role.SEND` or `Role.RECV`, the role `joined` registered.
            joined: Optional; the hub's reply to `register`.
        """
        self.handle = handle
        self.name = name
        self.counts = (0, 0) if joined is None else (joined.senders, joined.receivers)
        member = None if joined is None else Member(joined.ident, joined.token)
        self.sender = member if role == Role.SEND else None
        self.receiver = member if role == Role.RECV else None
        self._standalone: tuple[int, dict[str, Any]] | None = None

    @classmethod
    def standalone(cls, maxsize: int, actor_options: Mapping[str, Any]) -> HubLink:
        """A standalone channel's link: one sender and one receiver of a private pipeline."""
        link = cls(None, None)
        link.counts = (1, 1)
        link._standalone = (maxsize, dict(actor_options))
        return link

    async def connect(self) -> Any:
        """Returns the hub's handle, creating a standalone channel's hub on first use.

        Raises:
            ChannelClosedError: If the connection had ended before this channel connected.
            ChannelSetupError: If Ray cannot start or the standalone hub cannot be created.
            ChannelError: If the new standalone hub died at once.
        """
        if self.handle is not None:
            return self.handle
        if self._standalone is None:
            raise ChannelClosedError("this connection had ended before this channel connected")
        maxsize, options = self._standalone
        runtime.ensure_ray(None)
        proof = secrets.token_bytes(32)  # only this channel knows it
        name = f"connector-standalone-{uuid.uuid4().hex}"
        handle = runtime.hub_actor(name, False, maxsize, options, hub_verifier(proof))
        sent = await runtime.call("connect", handle.register.remote(Role.SEND, proof))
        got = await runtime.call("connect", handle.register.remote(Role.RECV, proof))
        linked: Any = self.handle  # re-read: a concurrent first use may have linked meanwhile
        if linked is not None:
            runtime.kill(handle)
            return linked
        self.sender, self.receiver = Member(sent.ident, sent.token), Member(got.ident, got.token)
        self.handle = handle
        self.note(got)
        return handle

    def end_unused(self) -> None:
        """Ends a standalone connection closed before first use: its hub is never made."""
        if self.handle is None:
            self._standalone = None

    def note(self, reply: Reply) -> None:
        """Takes in a hub reply's counts; told `release`, records the end of the connection."""
        self.counts = (reply.senders, reply.receivers)
        if reply.release and self.name is not None:
            runtime.record_end(self.name)
