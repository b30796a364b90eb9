"""`running_here(loop)`: is `loop` the event loop running in this thread? Without a system call.

Every channel checks, on each `send()` and `recv()`, that it is used from its own event
loop. On Python 3.11, `asyncio.get_running_loop()` calls `getpid()` each time (to notice a
fork), a system call: about 0.5 µs on a virtual machine, more than the rest of an in-process
`send()`. From 3.12 it reads the thread state only.

So on 3.11 `running_here` asks the loop instead: `BaseEventLoop` records the thread that
runs it (`_thread_id`, set while `run_forever()` runs and None otherwise), and a thread runs
one loop at a time, so "`loop` runs in this thread" is exactly "`loop` is the running loop
here". A loop that keeps no such record (another implementation) is compared with
`asyncio._get_running_loop()`, as on 3.12 and later.
"""

from __future__ import annotations

import asyncio
import sys
import threading

__all__ = ["running_here"]

_running_loop = asyncio._get_running_loop
_thread_ident = threading.get_ident


if sys.version_info >= (3, 12):

    def running_here(loop: asyncio.AbstractEventLoop | None) -> bool:
        """True if `loop` is the event loop running in this thread (see the module).

        Args:
            loop: A loop, or None (never running here).
        """
        return loop is not None and loop is _running_loop()

else:

    def running_here(loop: asyncio.AbstractEventLoop | None) -> bool:
        """True if `loop` is the event loop running in this thread (see the module).

        Args:
            loop: A loop, or None (never running here).
        """
        try:
            return bool(loop._thread_id == _thread_ident())  # type: ignore[union-attr]
        except AttributeError:  # None, or a loop that does not record its thread
            return loop is not None and loop is _running_loop()
