"""What the hub actor's calls say: roles, reply statuses, `Reply`, and the proof of the key.

`connector_ray.hub.ChannelHub` answers every call with a `Reply` whose `status` is a `Status`;
`connector_ray.link.HubLink` reads them on the channels' side. A caller registers in a `Role`.

Trust: any task of the Ray cluster can find the hub by name, so it serves only callers that
prove the connection's key. Its *verifier* is the SHA-256 of the registration proof
`HMAC(key, "connector-ray hub-auth")` (`hub_proof`): neither key nor proof is among its
arguments (signing switched off: no key, and the hub registers anyone). `register` must
present the proof and returns a random per-participant token; every later call names its id
*and* that token, or is answered `Status.DENIED` without effect. A frame must be `bytes`, or,
from a sender, a `RefEntry` (a large frame left in Ray's object store, see `connector_ray.large`):
anything else, and `counts` that are not one int >= 1 per frame, is refused before it is
stored (`well_formed`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum
from typing import Any, Final, NamedTuple, TypeAlias

from ray import ObjectRef

from connector_core.codec import TAG_SIZE, Codec

__all__ = [
    "Entry",
    "HubGate",
    "RefEntry",
    "Reply",
    "Role",
    "Status",
    "hub_proof",
    "hub_verifier",
    "well_formed",
]


class Role(StrEnum):
    """What a participant registers as."""

    SEND = "send"
    RECV = "recv"


class Status(StrEnum):
    """What a hub call's `Reply.status` says."""

    OK = "ok"
    """The call did what was asked."""
    END = "end"
    """`get`: every sender has closed and this receiver's FIFO is drained."""
    ABORTED = "aborted"
    """`put`/`get`: woken early because the caller's channel is closing."""
    NO_RECEIVERS = "no-receivers"
    """`put`: the pipeline is full and every receiver has closed; nothing will take them."""
    ENDED = "ended"
    """`register`: a sender may not join a connection whose senders have all closed."""
    RELEASED = "released"
    """`register`: the connection is over and this actor is about to end."""
    UNKNOWN = "unknown"
    """The caller's id is not known here: the actor lost its state (it was restarted)."""
    DENIED = "denied"
    """The caller did not prove the connection's key (wrong proof, or wrong token for its id)."""


_AUTH_LABEL: Final = b"connector-ray hub-auth"


def hub_proof(codec: Codec) -> bytes | None:
    """Returns a connection's registration proof: `HMAC(key, "connector-ray hub-auth")`.

    Args:
        codec: The connection's codec (it holds the key).

    Returns:
        The proof, or `None` when the codec does not sign (there is no key to prove).
    """
    return codec.sign(_AUTH_LABEL)[:TAG_SIZE] if codec.signed else None


def hub_verifier(proof: bytes | None) -> bytes | None:
    """Returns what the hub keeps to check a proof: its SHA-256 (the proof stays secret)."""
    return None if proof is None else hashlib.sha256(proof).digest()


class HubGate:
    """Who may call a hub: a proof of the key to register, then the token handed out."""

    __slots__ = ("_tokens", "_verifier")

    def __init__(self, verifier: bytes | None) -> None:
        """Creates the gate of a new hub.

        Args:
            verifier: `hub_verifier(proof)`, or `None` (signing switched off) to admit anyone.
        """
        self._verifier = verifier
        self._tokens: dict[int, bytes] = {}

    def admits(self, proof: object) -> bool:
        """True if `proof` is the connection's registration proof (or none is required)."""
        if self._verifier is None:
            return True
        given = hub_verifier(proof) if isinstance(proof, bytes) else None
        return given is not None and hmac.compare_digest(given, self._verifier)

    def issue(self, ident: int) -> bytes:
        """Returns a new random token for a registered participant."""
        token = self._tokens[ident] = secrets.token_bytes(16)
        return token

    def knows(self, ident: object, token: object) -> bool:
        """True if `token` is the one issued to `ident`."""
        known = self._tokens.get(ident) if isinstance(ident, int) else None
        return known is not None and isinstance(token, bytes) and hmac.compare_digest(known, token)


class RefEntry(NamedTuple):
    """A large frame in Ray's object store, as a sender puts it in the hub and a receiver gets it.

    The hub keeps it in its FIFOs like a frame and never fetches `ref` while its sender is
    open (see `connector_ray.large`).
    """

    ref: ObjectRef[Any]
    """The object holding the sealed frame (`bytes`), put by the sender's process."""
    tag: bytes
    """`connector_ray.large.LargeFrames.tag`: the receiver checks it before fetching `ref`."""
    sender: int = 0
    """The id of the sender that put it, written by the hub (a sender's own value is ignored)."""


Entry: TypeAlias = bytes | RefEntry
"""What a FIFO of the hub holds: a sealed frame, or a large one left in the object store."""


class Reply(NamedTuple):
    """What every hub call returns."""

    status: Status
    """What became of the call."""
    frames: list[Entry]
    """`get`: the frames handed out (they are the caller's from now on)."""
    accepted: int
    """`put`: how many frames (not items) from the front of the batch were accepted."""
    ident: int
    """`register`: the caller's sender or receiver id."""
    senders: int
    """Open senders now."""
    receivers: int
    """Open receivers now."""
    release: bool
    """True once, to the caller whose call ended the connection (the actor then ends itself)."""
    token: bytes = b""
    """`register`: the secret the caller presents with its id in every later call."""


def _ref_entry(entry: object) -> bool:
    """True for a `RefEntry` of an `ObjectRef` and a `bytes` tag (its `sender` the hub sets)."""
    return type(entry) is RefEntry and type(entry.ref) is ObjectRef and type(entry.tag) is bytes


def well_formed(frames: object, counts: object, refs: bool = False) -> bool:
    """True when `frames` is a list of frames and `counts` is None or one int >= 1 per frame.

    Args:
        frames: The frames of a `put`, `close_sender` or `close_receiver` call.
        counts: The items of each frame as the caller stated them (None: one each).
        refs: Optional; True to accept a well-formed `RefEntry` beside `bytes` frames.
    """
    if not isinstance(frames, list):
        return False
    if not all(type(f) is bytes or (refs and _ref_entry(f)) for f in frames):
        return False
    return counts is None or (
        isinstance(counts, list)
        and len(counts) == len(frames)
        and all(type(c) is int and c >= 1 for c in counts)
    )
