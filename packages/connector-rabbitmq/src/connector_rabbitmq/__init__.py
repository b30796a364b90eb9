"""connector-rabbitmq: at-least-once channels through a RabbitMQ broker.

`RabbitMQConnector` (registered as backend `rabbitmq`) and `RabbitMQChannel`. The broker URL
comes from `RABBITMQ_URL`; see `connector_rabbitmq.channel` for the topology and the delivery
and close protocol, and `connector_rabbitmq.purge` to remove what a crashed run left behind.
"""

from __future__ import annotations

import importlib.metadata

from connector_rabbitmq.channel import RabbitMQChannel
from connector_rabbitmq.connector import RabbitMQConnector
from connector_rabbitmq.purge import purge

__version__ = importlib.metadata.version("connector-rabbitmq")

__all__ = ["RabbitMQChannel", "RabbitMQConnector", "purge"]
