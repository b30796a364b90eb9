"""A keyless attacker on a ZMQ connection: a local process that can reach its listening ports.

Run as a separate process by `test_zmq_attacks.py`; it never sees a connector or its key,
only listening addresses (anyone on the host can find listening ports). It uses plain pyzmq
and plain sockets. Prints one line per step, what it saw.

    python zmq_attacker.py flood ADDRESS MECHANISM SMALL BIG BIG_BYTES OVERSIZED_BYTES
        one DEALER (MECHANISM "null", or "plain" with a guessed password) sends SMALL junk
        frames of 40 bytes, BIG junk frames of BIG_BYTES and one of OVERSIZED_BYTES (as many
        as its socket takes without blocking), and reports how its handshake ended:
        "handshake: refused" or "handshake: admitted".
    python zmq_attacker.py idle COUNT ADDRESS [ADDRESS ...]
        opens COUNT plain TCP connections to each address and never says a word; reports
        "ADDRESS: closed K of COUNT" once the listener has closed them (or the deadline passed),
        while keeping its own ends open.
    python zmq_attacker.py tamper KIND ADDRESS
        connects a PAIR to ADDRESS and takes one message: a large item as it travels on the
        wire from a member to a receiver, `[b"", BUFFERS, frame, buffer, buffer, ...]`. It
        changes it as KIND says, sends it back and prints "tampered: KIND": "buffer" flips
        a byte of the last buffer; "swap" swaps the first two buffers; "missing" drops the
        last buffer; "extra" adds an empty part (the same bytes, so the same tag); "shift"
        moves the first buffer's last byte to the start of the second (the same bytes in
        the same order: only the signed length table tells them apart); "table" changes
        the first length of the frame's table.
"""

from __future__ import annotations

import selectors
import socket
import sys
import time

import zmq
from zmq.utils.monitor import recv_monitor_message

OUTCOME_TIMEOUT = 30.0
"""Seconds to wait for a handshake's outcome, or for idle connections to be closed."""

_REFUSED = (
    zmq.EVENT_HANDSHAKE_FAILED_AUTH,
    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL,
)


def flood(
    address: str, mechanism: str, small: int, big: int, big_bytes: int, oversized: int
) -> None:
    context = zmq.Context()
    junk = context.socket(zmq.DEALER)
    junk.setsockopt(zmq.SNDHWM, 0)
    junk.setsockopt(zmq.LINGER, 0)
    if mechanism == "plain":
        junk.setsockopt(zmq.PLAIN_USERNAME, b"connector")
        junk.setsockopt(zmq.PLAIN_PASSWORD, b"a guess at the password")
    monitor = junk.get_monitor_socket()
    junk.connect(address)
    frames = [b"j" * 40] * small + [b"J" * big_bytes] * big + [b"G" * oversized]
    queued = 0
    for frame in frames:
        try:  # once refused the socket has no peer and would block: send what it takes
            junk.send(frame, zmq.NOBLOCK)
        except zmq.Again:
            break
        queued += 1
    print(f"queued {queued} of {len(frames)} junk frames", flush=True)
    outcome = "no outcome"
    deadline = time.monotonic() + OUTCOME_TIMEOUT
    while (left := deadline - time.monotonic()) > 0 and monitor.poll(int(left * 1000) + 1):
        event = recv_monitor_message(monitor)["event"]
        if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            outcome = "admitted"
            break
        if event in _REFUSED:
            outcome = "refused"
            break
    print(f"handshake: {outcome}", flush=True)
    junk.disable_monitor()
    monitor.close(linger=0)
    junk.close(linger=0)
    context.term()


def idle(count: int, addresses: list[str]) -> None:
    selector = selectors.DefaultSelector()
    open_by: dict[str, int] = {}
    for address in addresses:
        host, _, port = address.removeprefix("tcp://").rpartition(":")
        for _ in range(count):
            conn = socket.create_connection((host.strip("[]"), int(port)))
            conn.setblocking(False)
            selector.register(conn, selectors.EVENT_READ, address)
        open_by[address] = count
        print(f"{address}: opened {count}", flush=True)
    held: list[socket.socket] = []  # our ends stay open: only the listener may close them
    deadline = time.monotonic() + OUTCOME_TIMEOUT
    while any(open_by.values()) and (left := deadline - time.monotonic()) > 0:
        for key, _ in selector.select(left):
            peer = key.fileobj
            assert isinstance(peer, socket.socket)
            try:
                data = peer.recv(4096)  # ZeroMQ's greeting, then the end
            except ConnectionResetError:
                data = b""
            if not data:
                selector.unregister(peer)
                held.append(peer)
                open_by[key.data] -= 1
    for address in addresses:
        print(f"{address}: closed {count - open_by[address]} of {count}", flush=True)
    for conn in held:
        conn.close()
    for key in list(selector.get_map().values()):
        key.fileobj.close()  # type: ignore[union-attr]
    selector.close()


_TABLE = 32 + 37  # the frame's tag and envelope header come before the length table


def _tampered(kind: str, parts: list[bytes]) -> list[bytes]:
    head, frame, buffers = parts[:2], parts[2], parts[3:]
    if kind == "buffer":
        last = bytearray(buffers[-1])
        last[len(last) // 2] ^= 0xFF
        buffers[-1] = bytes(last)
    elif kind == "swap":
        buffers[0], buffers[1] = buffers[1], buffers[0]
    elif kind == "missing":
        buffers.pop()
    elif kind == "extra":
        buffers.append(b"")
    elif kind == "shift":
        buffers[0], buffers[1] = buffers[0][:-1], buffers[0][-1:] + buffers[1]
    elif kind == "table":
        table = bytearray(frame)
        table[_TABLE + 4 + 7] ^= 0x01  # the last byte of the first buffer's length
        frame = bytes(table)
    else:
        raise SystemExit(f"unknown tamper {kind!r}")
    return [*head, frame, *buffers]


def tamper(kind: str, address: str) -> None:
    context = zmq.Context()
    wire = context.socket(zmq.PAIR)
    wire.setsockopt(zmq.LINGER, int(OUTCOME_TIMEOUT * 1000))
    wire.connect(address)
    if not wire.poll(int(OUTCOME_TIMEOUT * 1000)):
        raise SystemExit("no message came to tamper with")
    wire.send_multipart(_tampered(kind, wire.recv_multipart()))
    print(f"tampered: {kind}", flush=True)
    wire.close()
    context.term()


def main(argv: list[str]) -> int:
    if len(argv) == 7 and argv[0] == "flood" and argv[2] in ("null", "plain"):
        flood(argv[1], argv[2], *(int(value) for value in argv[3:]))
        return 0
    if len(argv) == 3 and argv[0] == "tamper":
        tamper(argv[1], argv[2])
        return 0
    if len(argv) >= 3 and argv[0] == "idle":
        idle(int(argv[1]), argv[2:])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
