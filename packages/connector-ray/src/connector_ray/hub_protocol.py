"""What the hub actor's calls say: roles, reply statuses, `Reply`, and the proof of the key.

`connector_ray.hub.ChannelHub` answers every call with a `Reply` whose `status` is one of the
constants here; `connector_ray.link.HubLink` reads them on the channels' side. A caller
registers as `SEND` or `RECV`.

Trust: any task of the Ray cluster can find the hub by name, so it serves only callers that
prove the connection's key. Its *verifier* is the SHA-256 of the registration proof
`HMAC(key, "connector-ray hub-auth")` (`hub_proof`): neither key nor proof is among its
arguments (signing switched off: no key, and the hub registers anyone). `register` must
present the proof and returns a random per-participant token; every later call names its id
*and* that token, or is answered `DENIED` without effect. Frames must be `bytes`: anything
else, and `counts` that are not one int >= 1 per frame, is refused before it is stored
(`well_formed`).
"""

from __future__ import annotations

import hashlib
from typing import Final, NamedTuple

from connector_core.codec import TAG_SIZE, Codec

__all__ = [
    "ABORTED",
    "DENIED",
    "END",
    "ENDED",
    "NO_RECEIVERS",
    "OK",
    "RECV",
    "RELEASED",
    "SEND",
    "UNKNOWN",
    "Reply",
    "hub_proof",
    "hub_verifier",
    "well_formed",
]

SEND: Final = "send"
RECV: Final = "recv"

OK: Final = "ok"
"""The call did what was asked."""
END: Final = "end"
"""`get`: every sender has closed and this receiver's FIFO is drained."""
ABORTED: Final = "aborted"
"""`put`/`get`: woken early because the caller's channel is closing."""
NO_RECEIVERS: Final = "no-receivers"
"""`put`: the pipeline is full and every receiver has closed; nothing will take the frames."""
ENDED: Final = "ended"
"""`register`: a sender may not join a connection whose senders have all closed."""
RELEASED: Final = "released"
"""`register`: the connection is over and this actor is about to be killed."""
UNKNOWN: Final = "unknown"
"""The caller's id is not known here: the actor lost its state (it was restarted)."""
DENIED: Final = "denied"
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


class Reply(NamedTuple):
    """What every hub call returns."""

    status: str
    """One of the status constants of this module."""
    frames: list[bytes]
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
    """True once, to the caller whose call ended the connection: it must kill this actor."""
    token: bytes = b""
    """`register`: the secret the caller presents with its id in every later call."""


def well_formed(frames: object, counts: object) -> bool:
    """True when `frames` is a list of `bytes` and `counts` is None or one int >= 1 per frame.

    Args:
        frames: The frames of a `put`, `close_sender` or `close_receiver` call.
        counts: The items of each frame as the caller stated them (None: one each).
    """
    if not (isinstance(frames, list) and all(type(f) is bytes for f in frames)):
        return False
    return counts is None or (
        isinstance(counts, list)
        and len(counts) == len(frames)
        and all(type(c) is int and c >= 1 for c in counts)
    )
