"""How `limits()` splits a pipeline's and a pubsub connection's `maxsize`."""

from __future__ import annotations

import itertools

from connector_core.spec import ConnectorMode
from connector_rabbitmq.topology import limits


def test_pipeline_batches_take_a_quarter_of_maxsize() -> None:
    lim = limits(1000, ConnectorMode.PIPELINE)
    assert (lim.batch_items, lim.prefetch, lim.queue_length) == (250, 1, 1)


def test_a_stalled_connection_holds_no_more_than_maxsize() -> None:
    for maxsize, mode in itertools.product((4, 5, 63, 64, 1000, 4099), ConnectorMode):
        lim = limits(maxsize, mode)
        assert lim.queue_length is not None
        assert lim.batch_items * (2 + lim.queue_length + lim.prefetch) <= maxsize


def test_pubsub_batches_leave_room_for_the_markers_of_three_senders() -> None:
    lim = limits(1000, ConnectorMode.PUBSUB)
    assert lim.batch_items == 125
    assert lim.queue_length is not None
    assert lim.prefetch + lim.queue_length == 6  # a last batch and a marker each
