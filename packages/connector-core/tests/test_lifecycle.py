"""`Lifecycle`: the membership and end of a connection, proven once for every backend."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from connector_core import ChannelClosedError
from connector_core.lifecycle import Edges, Lifecycle


def test_a_connection_nobody_joined_has_not_ended() -> None:
    life: Lifecycle[str] = Lifecycle()
    assert not life.ended
    assert not life.quiescent


def test_the_last_sender_to_close_ends_the_connection() -> None:
    life: Lifecycle[str] = Lifecycle()
    life.open_sender("a")
    life.open_sender("b")
    assert life.close_sender("a") == Edges()
    assert life.close_sender("b").ended
    assert life.ended


def test_receivers_alone_never_end_the_connection() -> None:
    life: Lifecycle[str] = Lifecycle()
    life.join_receiver("r")
    life.leave_receiver("r")
    assert not life.ended


def test_a_sender_cannot_join_an_ended_connection() -> None:
    life: Lifecycle[str] = Lifecycle()
    life.open_sender("a")
    life.close_sender("a")
    with pytest.raises(ChannelClosedError, match="build a new connector"):
        life.open_sender("late")


def test_closing_twice_reports_the_end_once() -> None:
    life: Lifecycle[str] = Lifecycle()
    life.open_sender("a")
    assert life.close_sender("a").ended
    assert life.close_sender("a") == Edges()


def test_with_grace_the_end_waits_for_grace_over() -> None:
    life: Lifecycle[str] = Lifecycle(grace=True)
    life.open_sender("a")
    assert life.close_sender("a") == Edges(end_pending=True)
    assert not life.ended
    assert life.grace_over().ended


def test_a_sender_that_opens_during_the_grace_keeps_the_connection_open() -> None:
    life: Lifecycle[str] = Lifecycle(grace=True)
    life.open_sender("a")
    life.close_sender("a")
    life.open_sender("b")
    assert life.grace_over() == Edges()
    assert not life.ended
    assert life.close_sender("b").end_pending


def test_final_waits_until_every_live_receiver_drained() -> None:
    life: Lifecycle[str] = Lifecycle()
    life.join_receiver("r1")
    life.join_receiver("r2")
    life.open_sender("s")
    edges = life.close_sender("s")
    assert edges.ended
    assert not edges.final
    assert life.drained("r1") == Edges()
    assert life.drained("r2").final


def test_items_handed_back_undo_a_receiver_drained_state() -> None:
    life: Lifecycle[str] = Lifecycle()
    life.join_receiver("r1")
    life.join_receiver("r2")
    life.open_sender("s")
    life.close_sender("s")
    life.drained("r1")
    life.drained("r1", False)
    assert life.drained("r2") == Edges()
    assert life.drained("r1").final


def test_a_receiver_that_leaves_no_longer_holds_back_final() -> None:
    life: Lifecycle[str] = Lifecycle()
    life.join_receiver("r1")
    life.join_receiver("r2")
    life.open_sender("s")
    life.close_sender("s")
    life.drained("r1")
    assert life.leave_receiver("r2").final


def test_finished_once_the_connection_ended_and_everyone_left() -> None:
    life: Lifecycle[str] = Lifecycle()
    life.join_receiver("r")
    life.open_sender("s")
    assert not life.close_sender("s").finished
    edges = life.leave_receiver("r")
    assert edges.finished
    assert life.finished


def test_a_connection_ends_finished_when_no_receiver_is_left() -> None:
    life: Lifecycle[str] = Lifecycle()
    life.open_sender("s")
    edges = life.close_sender("s")
    assert edges == Edges(ended=True, final=True, finished=True)


def test_events_of_unknown_parties_change_nothing() -> None:
    life: Lifecycle[str] = Lifecycle()
    assert life.close_sender("ghost") == Edges()
    assert life.leave_receiver("ghost") == Edges()
    assert life.drained("ghost") == Edges()
    assert not life.ever_sender
    assert not life.ever_receiver


def test_a_receiver_joining_after_everyone_left_finds_the_end_and_no_new_edges() -> None:
    life: Lifecycle[str] = Lifecycle()
    life.open_sender("s")
    life.close_sender("s")
    assert life.join_receiver("late") == Edges()
    assert life.ended
    assert life.final
    assert life.finished
    assert life.leave_receiver("late") == Edges()


def test_a_receiver_that_joins_again_has_drained_nothing_yet() -> None:
    life: Lifecycle[str] = Lifecycle()
    life.join_receiver("r")
    life.drained("r")
    life.join_receiver("r")
    life.open_sender("s")
    edges = life.close_sender("s")
    assert edges.ended
    assert not edges.final


def test_edges_are_falsy_when_nothing_changed() -> None:
    assert not Edges()
    assert Edges(finished=True)


_IDS = st.sampled_from(["a", "b", "c"])


class LifecycleMachine(RuleBasedStateMachine):
    """Random event orders: the machine agrees with a plain model, and edges come once."""

    def __init__(self) -> None:
        super().__init__()
        self.life: Lifecycle[str] = Lifecycle()
        self.open: set[str] = set()
        self.live: set[str] = set()
        self.drained_set: set[str] = set()
        self.ever_sender = False
        self.ended = False
        self.pending = False
        self.seen = {"ended": 0, "final": 0, "finished": 0}

    def _record(self, edges: Edges) -> None:
        for name in self.seen:
            self.seen[name] += getattr(edges, name)

    @rule(grace=st.booleans())
    def set_grace(self, grace: bool) -> None:
        self.life.grace = grace

    @rule(sender=_IDS)
    def open_sender(self, sender: str) -> None:
        if self.ended:
            with pytest.raises(ChannelClosedError):
                self.life.open_sender(sender)
            return
        self._record(self.life.open_sender(sender))
        self.open.add(sender)
        self.ever_sender = True
        self.pending = False

    @rule(sender=_IDS)
    def close_sender(self, sender: str) -> None:
        was_open = sender in self.open
        edges = self.life.close_sender(sender)
        self._record(edges)
        self.open.discard(sender)
        if was_open and not self.open and not self.ended:
            if self.life.grace:
                assert edges.end_pending
                self.pending = True
            else:
                assert edges.ended
                self.ended = True

    @rule()
    def grace_over(self) -> None:
        edges = self.life.grace_over()
        self._record(edges)
        if self.pending:
            self.pending = False
            assert edges.ended
            self.ended = True
        else:
            assert not edges.ended

    @rule(receiver=_IDS)
    def join_receiver(self, receiver: str) -> None:
        self._record(self.life.join_receiver(receiver))
        self.live.add(receiver)
        self.drained_set.discard(receiver)

    @rule(receiver=_IDS)
    def leave_receiver(self, receiver: str) -> None:
        self._record(self.life.leave_receiver(receiver))
        self.live.discard(receiver)
        self.drained_set.discard(receiver)

    @rule(receiver=_IDS, drained=st.booleans())
    def drain(self, receiver: str, drained: bool) -> None:
        self._record(self.life.drained(receiver, drained))
        if receiver in self.live:
            (self.drained_set.add if drained else self.drained_set.discard)(receiver)

    @invariant()
    def agrees_with_the_model(self) -> None:
        assert self.life.senders == self.open
        assert self.life.receivers == self.live
        assert self.life.ended == self.ended
        assert self.life.end_pending == (self.pending and not self.ended)
        assert self.life.quiescent == (self.ever_sender and not self.open)

    @invariant()
    def counts_and_lookups_agree_with_the_sets(self) -> None:
        assert self.life.sender_count == len(self.open)
        assert self.life.receiver_count == len(self.live)
        for party in ("a", "b", "c"):
            assert self.life.is_sender(party) == (party in self.open)

    @invariant()
    def ended_means_no_open_sender(self) -> None:
        if self.life.ended:
            assert not self.life.senders

    @invariant()
    def each_edge_is_reported_once_and_only_when_true(self) -> None:
        assert self.seen["ended"] == int(self.life.ended)
        assert self.seen["final"] <= 1
        assert self.seen["finished"] == int(self.life.finished)
        if self.life.finished:
            assert self.life.ended  # a receiver may still join late: it finds the end

    @invariant()
    def finished_once_everyone_left_after_the_end(self) -> None:
        if self.life.ended and not self.live:
            assert self.life.finished

    @invariant()
    def final_once_every_live_receiver_drained_after_the_end(self) -> None:
        if self.life.ended and self.live <= self.drained_set:
            assert self.life.final
        if self.life.final:
            assert self.life.ended


TestLifecycleMachine = LifecycleMachine.TestCase
TestLifecycleMachine.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)
