"""connector-core: async message channels between components.

The API every backend implements (`Connector`, `Channel`, `SerdeChannel`), the in-process
`AsyncioConnector`, specs, settings, dependency injection and the backend registry. The
conformance suite every backend runs lives in `connector_core.testing`.
"""

from __future__ import annotations

import importlib.metadata

from connector_core.asyncio_channel import AsyncioChannel
from connector_core.asyncio_connector import AsyncioConnector
from connector_core.channel import CHAN_MAXSIZE, Channel, ChannelStatistics
from connector_core.connector import Connector, ConnectorBuilder
from connector_core.di import DI
from connector_core.exceptions import (
    BackendNotFoundError,
    ChannelClosedError,
    ChannelDecodeError,
    ChannelError,
    ChannelSerializationError,
    ChannelSetupError,
    ConnectorError,
)
from connector_core.export import ExportMixin
from connector_core.registry import available_backends, get_backend
from connector_core.serde import Codec, JsonSerializer, PickleSerializer, SerdeChannel, Serializer
from connector_core.settings import Settings
from connector_core.spec import ConnectorMode, ConnectorSocket, ConnectorSpec

__version__ = importlib.metadata.version("connector-core")

__all__ = [
    "CHAN_MAXSIZE",
    "DI",
    "AsyncioChannel",
    "AsyncioConnector",
    "BackendNotFoundError",
    "Channel",
    "ChannelClosedError",
    "ChannelDecodeError",
    "ChannelError",
    "ChannelSerializationError",
    "ChannelSetupError",
    "ChannelStatistics",
    "Codec",
    "Connector",
    "ConnectorBuilder",
    "ConnectorError",
    "ConnectorMode",
    "ConnectorSocket",
    "ConnectorSpec",
    "ExportMixin",
    "JsonSerializer",
    "PickleSerializer",
    "SerdeChannel",
    "Serializer",
    "Settings",
    "available_backends",
    "get_backend",
]
