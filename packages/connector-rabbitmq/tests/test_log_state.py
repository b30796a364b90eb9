"""`LogState`: what a control log says, folded in log order, without a broker."""

from __future__ import annotations

from connector_rabbitmq.control import CLOSE, END, JOIN, LEAVE, OPEN, LogState


def _fold(*events: tuple[str, str] | tuple[str, str, str]) -> LogState:
    state = LogState()
    for offset, event in enumerate(events):
        kind, party, *queue = event
        state.apply(offset, kind, party, queue[0] if queue else None)
    return state


def test_a_log_with_no_sender_is_not_quiescent_and_has_not_ended() -> None:
    state = _fold((JOIN, "r-1", "q"))
    assert not state.quiescent()
    assert not state.ended
    assert state.end_senders is None


def test_the_connection_is_quiescent_once_every_sender_that_opened_closed() -> None:
    state = _fold((OPEN, "s-1"), (OPEN, "s-2"), (CLOSE, "s-1"))
    assert not state.quiescent()
    state.apply(3, CLOSE, "s-2", None)
    assert state.quiescent()
    assert not state.ended  # the end waits for an `end` entry (the grace period)


def test_an_end_entry_ends_a_quiescent_connection_with_its_senders() -> None:
    state = _fold((OPEN, "s-1"), (CLOSE, "s-1"), (END, "r-1@1"))
    assert state.ended
    assert state.end_senders == frozenset({"s-1"})


def test_an_end_entry_after_a_new_open_is_void() -> None:
    state = _fold((OPEN, "s-1"), (CLOSE, "s-1"), (OPEN, "s-2"), (END, "r-1@1"))
    assert not state.ended
    state.apply(4, CLOSE, "s-2", None)
    assert not state.ended  # a later quiescent spell needs its own `end`
    state.apply(5, END, "r-1@4", None)
    assert state.end_senders == frozenset({"s-1", "s-2"})


def test_a_sender_opening_after_the_end_is_late_and_not_one_of_the_end_senders() -> None:
    state = _fold((OPEN, "s-1"), (CLOSE, "s-1"), (END, "r-1@1"), (OPEN, "s-2"))
    assert state.late == {"s-2"}
    assert state.end_senders == frozenset({"s-1"})


def test_everyone_gone_needs_the_end_every_sender_closed_and_every_receiver_left() -> None:
    state = _fold((JOIN, "r-1", "q"), (OPEN, "s-1"), (CLOSE, "s-1"), (END, "r-1@2"))
    assert not state.everyone_gone()
    state.apply(4, LEAVE, "r-1", None)
    assert state.everyone_gone()


def test_a_late_sender_that_has_not_closed_keeps_the_connection_alive() -> None:
    state = _fold((OPEN, "s-1"), (CLOSE, "s-1"), (END, "x@1"), (OPEN, "s-2"))
    assert not state.everyone_gone()
    state.apply(4, CLOSE, "s-2", None)
    assert state.everyone_gone()


def test_a_receiver_joining_after_everyone_left_is_waited_for() -> None:
    state = _fold((OPEN, "s-1"), (CLOSE, "s-1"), (END, "x@1"))
    assert state.everyone_gone()
    state.apply(3, JOIN, "r-2", "q")
    assert not state.everyone_gone()
    assert state.live_receivers() == {"r-2"}


def test_a_receiver_remembers_which_senders_had_closed_when_it_joined() -> None:
    state = _fold((OPEN, "s-1"), (OPEN, "s-2"), (CLOSE, "s-1"), (JOIN, "r-1", "q-1"))
    assert state.closed_at_join["r-1"] == frozenset({"s-1"})
    assert state.joined == {"r-1": "q-1"}


def test_an_entry_at_or_before_the_last_offset_is_a_replay_and_ignored() -> None:
    state = _fold((OPEN, "s-1"), (CLOSE, "s-1"))
    state.apply(0, OPEN, "s-9", None)
    assert state.open_senders() == set()
    assert state.offset == 1


def test_open_senders_and_live_receivers_count_the_peers() -> None:
    state = _fold(
        (OPEN, "s-1"),
        (OPEN, "s-2"),
        (CLOSE, "s-1"),
        (JOIN, "r-1", "q"),
        (JOIN, "r-2", "q"),
        (LEAVE, "r-1"),
    )
    assert state.open_senders() == {"s-2"}
    assert state.live_receivers() == {"r-2"}


def test_every_folded_entry_is_remembered_by_kind_and_party() -> None:
    state = _fold((OPEN, "s-1"), (JOIN, "r-1", "q"))
    assert state.seen == {"open:s-1", "join:r-1"}
