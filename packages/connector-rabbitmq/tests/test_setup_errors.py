"""Clear errors for a missing URL and an unreachable broker; the API that needs no broker."""

from __future__ import annotations

import asyncio
import pickle
import socket
import time

import pytest

from connector_core.exceptions import ChannelSetupError
from connector_core.framing import pack_frames
from connector_core.registry import get_backend
from connector_core.spec import ConnectorMode
from connector_core.testing import unique_spec
from connector_rabbitmq import RabbitMQConnector
from connector_rabbitmq.connection import broker_url, connect, redact
from connector_rabbitmq.messages import split
from connector_rabbitmq.settings import RabbitMQSettings
from connector_rabbitmq.topology import limits


def test_unset_url_means_the_local_broker_with_the_default_account(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RABBITMQ_URL", raising=False)
    monkeypatch.delenv("CONNECTOR_RABBITMQ_URL", raising=False)
    assert broker_url(RabbitMQSettings(_env_file=None)) == "amqp://guest:guest@localhost:5672/"


def test_a_url_of_another_scheme_says_what_to_set() -> None:
    settings = RabbitMQSettings(RABBITMQ_URL="http://guest:hunter2pw@127.0.0.1:5672/")
    with pytest.raises(ChannelSetupError, match=r"amqp:// or amqps://") as info:
        broker_url(settings)
    assert "hunter2pw" not in str(info.value)


async def test_refused_connection_fails_fast() -> None:
    settings = RabbitMQSettings(RABBITMQ_URL="amqp://guest:secret@127.0.0.1:1/")
    start = time.monotonic()
    with pytest.raises(ChannelSetupError, match="start the broker") as info:
        await connect(settings)
    assert time.monotonic() - start < settings.connect_timeout
    assert "secret" not in str(info.value)


async def test_silent_broker_fails_within_the_connect_timeout() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts TCP, never speaks AMQP
    port = listener.getsockname()[1]
    settings = RabbitMQSettings(
        RABBITMQ_URL=f"amqp://guest:guest@127.0.0.1:{port}/", connect_timeout=1.0
    )
    start = time.monotonic()
    try:
        with pytest.raises(ChannelSetupError, match="did not answer within 1 s"):
            await connect(settings)
    finally:
        listener.close()
    assert time.monotonic() - start < 5


def test_redact_hides_the_password() -> None:
    assert redact("amqp://user:pw@host:5672/vh") == "amqp://user:***@host:5672/vh"
    assert redact("amqp://host/") == "amqp://host/"


def test_backend_is_registered_as_rabbitmq() -> None:
    assert get_backend("rabbitmq") is RabbitMQConnector


def test_pickled_connector_carries_job_id_key_and_limits() -> None:
    connector = RabbitMQConnector(unique_spec(ConnectorMode.PIPELINE), maxsize=64, job_id="j1")
    copy = pickle.loads(pickle.dumps(connector))
    assert (copy.job_id, copy.maxsize, copy.codec, copy.names) == (
        "j1",
        64,
        connector.codec,
        connector.names,
    )


def test_bad_job_id_is_refused() -> None:
    with pytest.raises(ValueError, match="job_id"):
        RabbitMQConnector(unique_spec(ConnectorMode.PIPELINE), job_id="no spaces")


@pytest.mark.parametrize("maxsize", [4, 5, 7, 10, 64, 100, 999, 2000, 5000, 100_000])
@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
def test_limits_keep_a_stalled_connection_within_maxsize(maxsize: int, mode: ConnectorMode) -> None:
    lim = limits(maxsize, mode)
    assert lim.queue_length is not None
    held = lim.batch_items * (2 + lim.queue_length + lim.prefetch)
    assert held <= maxsize
    assert lim.sender_buffer == lim.batch_items


def test_split_keeps_order_and_fits_each_run_in_the_body_limit() -> None:
    frames = [bytes(n) for n in (10, 10, 30, 5, 100, 1)]
    runs = split(frames, 40)
    assert [f for run in runs for f in run] == frames
    assert all(len(pack_frames(run)) <= 40 for run in runs if len(run) > 1)
    assert [len(run) for run in runs] == [2, 1, 1, 1, 1]  # 100 bytes go alone, over the limit
    assert split(frames, 10_000) == [frames]


def test_making_a_connector_needs_no_event_loop() -> None:
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()
    RabbitMQConnector(unique_spec(ConnectorMode.PUBSUB))


def test_a_maxsize_above_the_queue_length_range_is_refused_when_the_connector_is_made() -> None:
    with pytest.raises(ValueError, match=rf"maxsize <= {2**63 - 1}"):
        RabbitMQConnector(unique_spec(ConnectorMode.PIPELINE), maxsize=2**63)
