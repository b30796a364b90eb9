"""A keyless attacker on a Redis connection: access to the server, no connector key.

Run as a separate process by `test_redis_attacks.py`; it never sees a connector, only what
any client of the server can reach: the connection's keys, named after the job id and the
spec id (`connector:{<job>}:<spec>:*`), read and written with a plain redis-py client. It
knows the entry format (it is public), so its forgeries are well formed; only the signature
is wrong, since it has no key. Each command prints one line, what it did.

    python redis_attacker.py junk URL JOB SPEC COUNT
        adds COUNT junk entries to the data stream (random bytes, an empty field, no field).
    python redis_attacker.py junk-counted URL JOB SPEC ITEMS
        adds one junk entry whose unsigned `n` field claims ITEMS items; prints its id.
    python redis_attacker.py forge-data URL JOB SPEC
        adds a data entry in the sender's name, sealed for the id it is added at.
    python redis_attacker.py forge-marker URL JOB SPEC
        adds an end marker in the sender's name.
    python redis_attacker.py replay URL JOB SPEC
        prints "listening", waits for the next data entry and adds a copy of it.
    python redis_attacker.py forge-control URL JOB SPEC KIND
        appends a control entry KIND (close: the sender's, leave: the receiver's, end: of the
        first close, waited for) in that party's name.
    python redis_attacker.py replay-control URL JOB SPEC
        appends a copy of every control entry there is.
    python redis_attacker.py move-pending URL JOB SPEC
        moves every pending entry of the pipeline group to the `returned` consumer (XCLAIM),
        where any receiver takes it as given back.
"""

from __future__ import annotations

import os
import struct
import sys
import time
from typing import Any

from redis import Redis

from connector_core.envelope import HEADER, VERSION, connection_id
from connector_core.framing import pack_frames
from connector_redis.entries import CLOSE, DATA, END, JOIN, LEAVE, MARKER, OPEN

TAG = 32
"""Bytes of the HMAC tag in front of every entry."""
ENTRY_ID = struct.Struct("!BQQ")
"""kind, ms, seq: what follows the envelope header in an entry."""
WAIT_MS = 30_000
"""How long a blocking read waits for what it needs."""


class Target:
    """The keys and the connection id of one connection, from its job id and spec id."""

    def __init__(self, url: str, job: str, spec: str) -> None:
        self.redis: Any = Redis.from_url(url)
        prefix = f"connector:{{{job}}}:{spec}"
        self.data, self.ctl = f"{prefix}:data", f"{prefix}:ctl"
        self.connection = connection_id(f"redis:{job}:{spec}")

    def control(self) -> list[tuple[str, int, bytes, bytes]]:
        """Every control entry: (id, kind, party, body), read from the plain-text header."""
        found = []
        for entry_id, fields in self.redis.xrange(self.ctl):
            raw = fields[b"e"]
            _, _, party, _, _ = HEADER.unpack_from(raw, TAG)
            kind, _, _ = ENTRY_ID.unpack_from(raw, TAG + HEADER.size)
            body = raw[TAG + HEADER.size + ENTRY_ID.size :]
            found.append((entry_id.decode(), kind, party, body))
        return found

    def party(self, kind: int) -> bytes:
        """The party of the first control entry of `kind` (OPEN: a sender, JOIN: a receiver)."""
        return next(party for _, k, party, _ in self.control() if k == kind)

    def forged(
        self, key: str, kind: int, party: bytes, body: bytes, items: int = 0, batch: bytes = b""
    ) -> str:
        """Adds a well-formed entry with a made-up tag at a fresh id sealed inside it.

        A data entry (`batch`: its frames) gets them as field `b`, and their digest as body.
        """
        last = self.redis.xinfo_stream(key)["last-generated-id"].decode()
        ms = max(time.time_ns() // 1_000_000, int(last.partition("-")[0]) + 1)
        header = HEADER.pack(VERSION, self.connection, party, 1 << 40, items)
        entry = os.urandom(TAG) + header + ENTRY_ID.pack(kind, ms, 0) + body
        fields = {b"e": entry, b"b": batch} if batch else {b"e": entry}
        return str(self.redis.xadd(key, fields, id=f"{ms}-0").decode())


def junk(target: Target, count: int) -> str:
    shapes = [{b"e": os.urandom(200), b"n": b"1"}, {b"e": b"", b"n": b"1"}, {b"x": b"junk"}]
    for n in range(count):
        target.redis.xadd(target.data, shapes[n % len(shapes)])
    return f"added {count} junk entries to {target.data}"


def junk_counted(target: Target, items: int) -> str:
    fields = {b"e": os.urandom(200), b"n": str(items).encode()}
    entry_id = target.redis.xadd(target.data, fields).decode()
    return f"added a junk entry claiming {items} items at {entry_id}"


def forge_data(target: Target) -> str:
    frame = os.urandom(TAG) + b"forged item"
    digest = struct.pack("!II", 1, len(frame)) + frame[:TAG]  # what `frame_digest` makes
    batch = pack_frames([frame])
    entry_id = target.forged(target.data, DATA, target.party(OPEN), digest, items=1, batch=batch)
    return f"forged a data entry at {entry_id}"


def forge_marker(target: Target) -> str:
    entry_id = target.forged(target.data, MARKER, target.party(OPEN), b"")
    return f"forged an end marker at {entry_id}"


def replay(target: Target) -> str:
    info = target.redis.xinfo_stream(target.data)
    after = info["last-generated-id"]
    print("listening", flush=True)
    reply = target.redis.xread({target.data: after}, count=1, block=WAIT_MS)
    if not reply:
        raise SystemExit("no data entry came to replay")
    entry_id, fields = reply[0][1][0]
    copy = target.redis.xadd(target.data, fields)
    return f"replayed {entry_id.decode()} as {copy.decode()}"


def _first_close(target: Target) -> str:
    after = "0-0"
    deadline = time.monotonic() + WAIT_MS / 1000
    while time.monotonic() < deadline:
        for entry_id, kind, _, _ in target.control():
            if kind == CLOSE:
                return entry_id
            after = entry_id
        target.redis.xread({target.ctl: after}, block=WAIT_MS)
    raise SystemExit("no close entry came")


def forge_control(target: Target, kind_name: str) -> str:
    if kind_name == "close":
        party, kind, body = target.party(OPEN), CLOSE, struct.pack("!QQ", 0, 0)
    elif kind_name == "leave":
        receiver = target.party(JOIN)
        party, kind, body = receiver, LEAVE, receiver
    elif kind_name == "end":
        party, kind, body = target.party(OPEN), END, _first_close(target).encode()
    else:
        raise SystemExit(f"unknown control kind {kind_name!r}")
    entry_id = target.forged(target.ctl, kind, party, body)
    return f"forged a {kind_name} control entry at {entry_id}"


def replay_control(target: Target) -> str:
    entries = target.redis.xrange(target.ctl)
    last = ""
    for _, fields in entries:
        last = target.redis.xadd(target.ctl, fields).decode()
    return f"replayed {len(entries)} control entries, the last at {last}"


def move_pending(target: Target) -> str:
    pending = target.redis.xpending_range(target.data, "work", "-", "+", 1000)
    ids = [entry["message_id"] for entry in pending]
    if ids:
        target.redis.xclaim(target.data, "work", "returned", 0, ids, justid=True)
    return f"moved {len(ids)} pending entries to returned"


def main(argv: list[str]) -> None:
    command, url, job, spec, *rest = argv
    target = Target(url, job, spec)
    if command == "junk":
        print(junk(target, int(rest[0])))
    elif command == "junk-counted":
        print(junk_counted(target, int(rest[0])))
    elif command == "forge-data":
        print(forge_data(target))
    elif command == "forge-marker":
        print(forge_marker(target))
    elif command == "replay":
        print(replay(target))
    elif command == "forge-control":
        print(forge_control(target, rest[0]))
    elif command == "replay-control":
        print(replay_control(target))
    elif command == "move-pending":
        print(move_pending(target))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
