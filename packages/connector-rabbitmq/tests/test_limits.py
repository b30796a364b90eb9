"""How `limits()` splits a pipeline's and a pubsub connection's `maxsize`."""

from __future__ import annotations

from connector_core.spec import ConnectorMode
from connector_rabbitmq.topology import limits


def test_pipeline_batches_take_a_sixth_of_maxsize() -> None:
    lim = limits(1000, ConnectorMode.PIPELINE)
    assert (lim.batch_items, lim.prefetch, lim.queue_length) == (166, 2, 2)


def test_pubsub_batches_leave_room_for_the_markers_of_three_senders() -> None:
    lim = limits(1000, ConnectorMode.PUBSUB)
    assert lim.batch_items == 125
    assert lim.queue_length is not None
    assert lim.prefetch + lim.queue_length == 6  # a last batch and a marker each
