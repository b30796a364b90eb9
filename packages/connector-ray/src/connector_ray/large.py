"""Large frames: they cross Ray's object store, and only a small entry crosses the hub.

A frame of at least `large_frame_bytes` (`RaySettings`, 1 MiB by default) would be copied
into the hub actor and out again if it went in a `put`. Instead the sender stores it with
`ray.put`, as a `pickle.PickleBuffer` (an out-of-band buffer: Ray copies it into the store
once and a receiver reads it there, as a read-only `memoryview`, with no copy), and hands the
hub a `RefEntry`: the `ObjectRef` and a tag,
`HMAC(key, "connector-ray large-frame" + connection id + object id)`. The hub queues the
entry like a frame, weighing the items its sender states, and does not fetch the object. A
receiver handed an entry checks its tag first, then fetches the frame (`await ref`, on the
event loop), then verifies the frame with its `Verifier` like any other before it keeps
anything. An entry whose tag does not check out, whose object cannot be fetched or is not
bytes (a buffer of bytes, or `bytes`), or whose frame does not verify, is dropped and counted
(`statistics().rejected`).

Why a tag, when the frame is verified anyway: fetching runs Ray's deserializer, which
unpickles any object that is not plain `bytes`. The tag proves that a holder of the key made
the entry, so a receiver never fetches an object that a keyless caller chose. A connection
that does not sign (`CONNECTOR_SIGN_MESSAGES=false`) has no key: its frames all travel inline
in the hub's calls, and its receivers drop any entry.

Who owns the object: the sender's process (`ray.put` makes its caller the owner; Ray 2.56
removed `_owner=`, which named another). Ray frees an object once nothing refers to it, so
once a receiver fetched one and the hub gave its entry away, it is gone. It is also lost if
the owner's process exits first, so a closing sender's entries are handed over to the hub
(`connector_ray.hub_refs`): after `close()` its process may exit. A sender killed before
`close()` loses the large frames the hub still queued.
"""

from __future__ import annotations

import asyncio
import hmac
import pickle
from typing import Any, Final, NamedTuple

import ray

from connector_core.codec import TAG_SIZE, Codec
from connector_ray.hub_protocol import Entry, RefEntry
from connector_ray.hub_refs import as_frame, fetch_all
from connector_ray.settings import DEFAULT_LARGE_FRAME_BYTES

__all__ = ["Dropped", "LargeFrames"]

_LABEL: Final = b"connector-ray large-frame"


class Dropped(NamedTuple):
    """In place of a large frame that could not be fetched: why (for the rejected count)."""

    reason: str


class LargeFrames:
    """The large-frame rules of one end of a connection: its key and the size threshold."""

    __slots__ = ("_codec", "threshold")

    def __init__(self, codec: Codec, threshold: int = DEFAULT_LARGE_FRAME_BYTES) -> None:
        """Creates the rules of one sender or receiver.

        Args:
            codec: The connection's codec (its key signs and checks the entries).
            threshold: Optional; the size from which a sender's frames go through the
                object store (a receiver's is not used).
        """
        self._codec = codec
        self.threshold = threshold

    @property
    def smallest(self) -> int | None:
        """The size from which a sender's frames go through the object store; None: never.

        Never on a connection that does not sign (its receivers would refuse the entries).
        """
        return self.threshold if self._codec.signed else None

    def tag(self, ref: ray.ObjectRef[Any]) -> bytes:
        """The tag of an entry for `ref`: its HMAC under the connection's key.

        Args:
            ref: The object holding the frame.
        """
        codec = self._codec
        return codec.sign(_LABEL + codec.connection + ref.binary())[:TAG_SIZE]

    async def stage(self, frame: bytes) -> RefEntry:
        """Puts a sender's frame in the object store and returns the entry for the hub.

        The copy into the object store runs in a worker thread, so the event loop goes on
        (sealing the next frame, say) meanwhile. The frame goes in as an out-of-band buffer,
        so a receiver's fetch reads it in the store instead of copying it out.

        Args:
            frame: The sealed frame.

        Raises:
            ray.exceptions.RayError: If Ray cannot store it (the object store is full, say).
        """
        ref = await asyncio.to_thread(ray.put, pickle.PickleBuffer(frame))
        return RefEntry(ref, self.tag(ref))

    def _refusal(self, entry: RefEntry) -> str | None:
        """Why a receiver may not fetch `entry`, or None when its tag checks out."""
        if not self._codec.signed:
            return "a large-frame entry arrived on a connection that does not sign"
        if type(entry.tag) is not bytes or not hmac.compare_digest(entry.tag, self.tag(entry.ref)):
            return "the tag of a large-frame entry does not verify"
        return None

    async def resolve(self, frames: list[Entry]) -> list[bytes | memoryview | Dropped]:
        """A receiver's frames with each entry's frame fetched, or `Dropped` with why.

        A fetched frame is a read-only view of the object store (`as_frame`): it stays there
        while the view, or the payload read from it, is held.

        Only entries whose tag checks out are fetched (together); `bytes` frames stay as
        they are. Nothing here verifies a frame: that is the `Verifier`'s, afterwards.

        Args:
            frames: The frames of a `get`, as the hub handed them.
        """
        entries = {i: f for i, f in enumerate(frames) if type(f) is RefEntry}
        refusals = {i: self._refusal(entry) for i, entry in entries.items()}
        wanted = {i: entries[i].ref for i, why in refusals.items() if why is None}
        fetched = await fetch_all(wanted.values())
        got = dict(zip(wanted, fetched, strict=True))
        out: list[bytes | memoryview | Dropped] = []
        for i, frame in enumerate(frames):
            if type(frame) is bytes:
                out.append(frame)
            elif i not in entries:
                out.append(Dropped(f"a {type(frame).__name__} arrived where a frame was due"))
            elif (refusal := refusals[i]) is not None:
                out.append(Dropped(refusal))
            elif (fetched_frame := as_frame(value := got[i])) is not None:
                out.append(fetched_frame)
            elif isinstance(value, BaseException):
                out.append(Dropped(f"its large frame cannot be fetched: {type(value).__name__}"))
            else:
                out.append(Dropped(f"a large-frame entry held a {type(value).__name__}"))
        return out
