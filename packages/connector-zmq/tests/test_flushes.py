"""The senders' flushes due at the loop's next turn, which a receiver may run first."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

from connector_zmq.flushes import flushes_of


async def _next_turn() -> None:
    """Returns after the loop ran the callbacks that were ready when it was called."""
    turned = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_soon(turned.set_result, None)
    await turned


async def test_a_flush_runs_at_the_next_turn_of_the_loop() -> None:
    ran: list[str] = []
    flushes_of(asyncio.get_running_loop()).add(lambda: ran.append("flush"))
    assert ran == []
    await _next_turn()
    assert ran == ["flush"]


async def test_run_runs_the_due_flushes_now_in_order_and_the_loop_not_again() -> None:
    ran: list[int] = []
    flushes = flushes_of(asyncio.get_running_loop())
    flushes.add(lambda: ran.append(1))
    flushes.add(lambda: ran.append(2))
    assert flushes.run()
    assert ran == [1, 2]
    await _next_turn()
    assert ran == [1, 2]
    assert not flushes.run()  # nothing due


async def test_a_flush_added_after_an_early_run_still_runs_at_the_next_turn() -> None:
    ran: list[str] = []
    flushes = flushes_of(asyncio.get_running_loop())
    flushes.add(lambda: ran.append("first"))
    flushes.run()
    flushes.add(lambda: ran.append("second"))
    await _next_turn()
    assert ran == ["first", "second"]


async def test_a_failing_flush_goes_to_the_loop_handler_and_the_others_still_run() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: reported.append(context))
    ran: list[str] = []

    def fail() -> None:
        raise RuntimeError("socket gone")

    flushes = flushes_of(loop)
    flushes.add(fail)
    flushes.add(lambda: ran.append("after"))
    try:
        assert flushes.run()  # the caller (a receiver) sees no error
    finally:
        loop.set_exception_handler(None)
    assert ran == ["after"]
    assert [type(context["exception"]) for context in reported] == [RuntimeError]


def test_each_loop_has_its_own_flushes() -> None:
    first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        assert flushes_of(first) is flushes_of(first)
        assert flushes_of(first) is not flushes_of(second)
    finally:
        first.close()
        second.close()


def test_the_flushes_of_a_loop_do_not_keep_it_alive() -> None:
    loop = asyncio.new_event_loop()
    flushes_of(loop)
    gone = weakref.ref(loop)
    loop.close()
    del loop
    gc.collect()
    assert gone() is None
