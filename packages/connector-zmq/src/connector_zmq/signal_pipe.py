"""A pipe that wakes a thread's poll loop from other threads: `SignalPipe`.

The rendezvous thread polls its sockets and this pipe's read end; `stop()` and `orphan()`,
called from any thread, write one byte each. Writing after the owner closed the pipe is
a no-op, never an error on a reused descriptor: the lock orders writes against `close()`.
"""

from __future__ import annotations

import contextlib
import os
import threading

__all__ = ["SignalPipe"]


class SignalPipe:
    """One-byte signals from any thread to the thread that polls `fd`."""

    def __init__(self) -> None:
        """Opens the pipe (two file descriptors until `close()`)."""
        self._read, self._write = os.pipe()
        self._lock = threading.Lock()
        self._open = True

    @property
    def fd(self) -> int:
        """The read end, to poll for `POLLIN`."""
        return self._read

    def send(self, signal: bytes) -> None:
        """Writes `signal` unless the pipe was closed (then nobody is listening).

        Args:
            signal: The byte(s) to deliver.
        """
        with self._lock:
            if self._open:
                with contextlib.suppress(OSError):
                    os.write(self._write, signal)

    def receive(self) -> bytes:
        """The signals written since the last call (call when `fd` is readable)."""
        return os.read(self._read, 64)

    def close(self) -> None:
        """Closes both ends; later `send()` calls do nothing."""
        with self._lock:
            self._open = False
            os.close(self._read)
            os.close(self._write)
