"""The exception hierarchy shared by every connector backend.

Every error the library raises on purpose derives from `ConnectorError`, so callers can catch
the whole family at once. Channel-level failures derive from `ChannelError`.
"""

from __future__ import annotations

__all__ = [
    "BackendNotFoundError",
    "ChannelClosedError",
    "ChannelDecodeError",
    "ChannelError",
    "ChannelSerializationError",
    "ChannelSetupError",
    "ConnectorError",
    "ProviderNotFoundError",
]


class ConnectorError(Exception):
    """Base class of every error raised by the connector packages."""


class ChannelError(ConnectorError):
    """A channel could not do what was asked of it."""


class ChannelClosedError(ChannelError):
    """The channel is closed: no more sends, or nothing more will ever be received."""


class ChannelSetupError(ChannelError):
    """A channel could not be set up: a service is missing, unreachable or misconfigured."""


class ChannelSerializationError(ChannelError):
    """An item could not be serialized for sending; the channel stays usable."""


class ChannelDecodeError(ChannelError):
    """Received bytes could not be decoded into an item; the bad message was discarded."""


class BackendNotFoundError(ConnectorError, LookupError):
    """No connector backend is installed under the requested name."""


class ProviderNotFoundError(ConnectorError, AttributeError):
    """`DI` has no provider of that name, and no installed package registers one."""
