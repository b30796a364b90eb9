"""`EntryVerifier`: a receiver's check of the data stream's entries, where they arrive.

Every entry a receiver reads passes here before it is buffered: its envelope is opened with
the connection's key and a data entry's frames are split out and matched with the digest it
was sealed with (`connector_redis.entries.open_data`: tag, connection, stream id, frames),
its (party, sequence) is admitted once by a `ReplayGuard`, and each frame is verified by
core's `Verifier` (which also reads the frame's item count from its signed header). End
markers are noted, not buffered. Whatever fails is dropped and counted in the `Verifier`'s
`rejected`, so that the receiver acknowledges it and moves on.
"""

from __future__ import annotations

from connector_core.codec import Codec, MessageRejectedError
from connector_core.envelope import ReplayGuard
from connector_core.payload import Payload
from connector_core.transport import Verifier
from connector_redis.entries import DATA, MARKER, FramesRejectedError, open_data
from connector_redis.keys import parse_id

__all__ = ["EntryVerifier"]


class EntryVerifier:
    """Opens one receiver's data entries into verified payloads (see the module docstring)."""

    __slots__ = ("codec", "guard", "markers", "verifier")

    def __init__(self, codec: Codec, verifier: Verifier) -> None:
        """Creates the check for one receiver.

        Args:
            codec: The connection's codec (bound to it).
            verifier: The receiver's frame verifier; it counts and logs what is dropped.
        """
        self.codec = codec
        self.verifier = verifier
        self.guard = ReplayGuard()
        """Which (party, sequence) pairs of entries this receiver admitted: replays are dropped."""
        self.markers: set[str] = set()
        """The parties (hex ids) whose end marker this receiver read."""

    def open(
        self, entry_id: str, fields: dict[bytes, bytes], redelivered: bool
    ) -> tuple[int, list[tuple[Payload, bytes, int]]]:
        """Verifies one entry.

        Args:
            entry_id: The stream id the entry was read at.
            fields: The entry's fields (its envelope is field `e`).
            redelivered: The entry was claimed or given back (delivered again): it passes
                the replay checks.

        Returns:
            The items the entry's signed envelope states (what `held` counted for it when a
            party added it; 0 for an entry that does not verify, which nobody counted), and
            (payload, frame, items) of each frame that verifies.
        """
        try:
            entry, frames = open_data(self.codec, fields, parse_id(entry_id))
        except FramesRejectedError as exc:
            self.verifier.drop(f"entry {entry_id}: {exc}")
            return exc.entry.items, []
        except MessageRejectedError as exc:
            self.verifier.drop(f"entry {entry_id}: {exc}")
            return 0, []
        if not self.guard.admit(entry.party, entry.seq, redelivered):
            if not redelivered:
                self.verifier.drop(f"entry {entry_id} repeats one received before (a replay)")
            return entry.items, []
        if entry.kind == MARKER:
            self.markers.add(entry.party.hex())
            return entry.items, []
        if entry.kind != DATA:
            self.verifier.drop(f"entry {entry_id} of kind {entry.kind} in the data stream")
            return entry.items, []
        verified: list[tuple[Payload, bytes, int]] = []
        for frame in frames:
            accepted = self.verifier.accept_items(frame, redelivered)
            if accepted is not None:
                payload, items = accepted
                verified.append((payload, frame, items))
        return entry.items, verified
