"""A keyless attacker on a ZMQ connection: a local process that can reach the receiver's port.

Run as a separate process by `test_zmq_attacks.py`; it never sees a connector or its key,
only a receiver's data address (anyone on the host can find listening ports). It uses plain
pyzmq. Prints one line per step, what it did.

    python zmq_attacker.py flood ADDRESS SMALL BIG BIG_BYTES OVERSIZED_BYTES
        one DEALER sends SMALL junk frames of 40 bytes, then BIG junk frames of BIG_BYTES;
        then a second DEALER sends one frame of OVERSIZED_BYTES and reports whether the
        receiver cut it off (a disconnect within CUT_OFF_TIMEOUT seconds).
"""

from __future__ import annotations

import sys

import zmq
from zmq.utils.monitor import recv_monitor_message

CUT_OFF_TIMEOUT = 20.0
"""Seconds to wait for the receiver to drop the connection that sent the oversized frame."""


def flood(address: str, small: int, big: int, big_bytes: int, oversized: int) -> None:
    context = zmq.Context()
    junk = context.socket(zmq.DEALER)
    junk.setsockopt(zmq.SNDHWM, 0)
    junk.connect(address)
    frame = b"j" * 40
    for _ in range(small):
        junk.send(frame)
    block = b"J" * big_bytes
    for _ in range(big):
        junk.send(block)
    junk.close(linger=-1)
    print(f"sent {small} small and {big} big junk frames", flush=True)

    giant = context.socket(zmq.DEALER)
    giant.setsockopt(zmq.RECONNECT_IVL, -1)  # once cut off, stay off
    monitor = giant.get_monitor_socket(zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED)
    giant.connect(address)
    giant.send(b"G" * oversized)
    cut_off = False
    while monitor.poll(int(CUT_OFF_TIMEOUT * 1000)):
        if recv_monitor_message(monitor)["event"] == zmq.EVENT_DISCONNECTED:
            cut_off = True
            break
    print("oversized frame: cut off" if cut_off else "oversized frame: accepted", flush=True)
    giant.disable_monitor()
    monitor.close(linger=0)
    giant.close(linger=0)
    context.term()


def main(argv: list[str]) -> int:
    if len(argv) == 6 and argv[0] == "flood":
        flood(argv[1], *(int(value) for value in argv[2:]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
