"""The pipe that wakes the rendezvous thread (`connector_zmq.signal_pipe`)."""

from __future__ import annotations

import select
import threading

from connector_zmq.signal_pipe import SignalPipe


def test_a_signal_from_another_thread_makes_the_pipe_readable() -> None:
    pipe = SignalPipe()
    thread = threading.Thread(target=pipe.send, args=(b"x",))
    thread.start()
    thread.join()
    readable, _, _ = select.select([pipe.fd], [], [], 30)
    assert readable == [pipe.fd]
    assert pipe.receive() == b"x"
    pipe.close()


def test_a_signal_after_close_is_dropped_without_an_error() -> None:
    pipe = SignalPipe()
    pipe.close()
    pipe.send(b"x")  # nobody listens any more: no OSError, no write to a reused descriptor
