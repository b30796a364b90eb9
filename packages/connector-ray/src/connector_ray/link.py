"""`HubLink`: a connection's hub actor as this process's channel ends see it.

The send transport (`connector_ray.sender`) and the receive transport
(`connector_ray.receiver`) of a channel talk to the hub through one `HubLink`: its handle and
name, the hub's last known counts of open senders and receivers, and the rule that whoever is
told `release` kills the hub. Every hub call carries the caller's `Member`: the id and token
that `register` handed out (see `connector_ray.hub`).

A standalone channel (`RayChannel(...)` made directly) has a private hub, created at first
use and registered at both ends; its `HubLink` holds both members.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from connector_core.exceptions import ChannelClosedError
from connector_ray import runtime
from connector_ray.hub import Reply

__all__ = ["HubLink", "Member"]


class Member(NamedTuple):
    """A registered sender or receiver: what it presents in every hub call."""

    ident: int
    token: bytes

    @classmethod
    def of(cls, reply: Reply) -> Member:
        """The member `register` answered with."""
        return cls(reply.ident, reply.token)


class HubLink:
    """The hub actor of one connection, shared by this process's transports of a channel."""

    __slots__ = ("_standalone", "counts", "handle", "name", "receiver", "sender")

    def __init__(self, handle: Any, name: str | None, counts: tuple[int, int] = (0, 0)) -> None:
        """Links to a hub actor found or created by the connector.

        Args:
            handle: The hub's actor handle; None for a connection that had already ended.
            name: The hub's name (its tombstone is written under it when it is released).
            counts: The open (senders, receivers) the hub last reported.
        """
        self.handle = handle
        self.name = name
        self.counts = counts
        self.sender: Member | None = None
        self.receiver: Member | None = None
        self._standalone: tuple[int, dict[str, Any]] | None = None

    @classmethod
    def standalone(cls, maxsize: int, actor_options: Mapping[str, Any]) -> HubLink:
        """A standalone channel's link: its private pipeline hub is created at first use.

        It counts as one open sender and one open receiver from the start.
        """
        link = cls(None, None, (1, 1))
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
        handle, sent, got = await runtime.standalone_hub(*self._standalone)
        linked: Any = self.handle  # re-read: a concurrent first use may have linked meanwhile
        if linked is not None:
            runtime.kill(handle)
            return linked
        self.sender, self.receiver = Member.of(sent), Member.of(got)
        self.handle = handle
        self.note(got)
        return handle

    def note(self, reply: Reply) -> None:
        """Takes in a hub reply's counts; the caller told `release` ends the connection."""
        self.counts = (reply.senders, reply.receivers)
        if reply.release:
            runtime.release(self.handle, self.name)
