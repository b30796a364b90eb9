"""HMAC-SHA256 (RFC 2104) with its keyed inner and outer states computed once per key.

A tag then costs two hash-state copies instead of re-keying each time (about half the time):
`Codec` signs and verifies every frame with these states.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

__all__ = ["keyed_states", "tag", "tag_of"]

_BLOCK = 64  # SHA-256's block size in bytes


def keyed_states(key: bytes) -> tuple[Any, Any]:
    """The SHA-256 states after the inner and the outer padded key, for HMAC under `key`.

    Args:
        key: The HMAC key.
    """
    block = key if len(key) <= _BLOCK else hashlib.sha256(key).digest()
    block = block.ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
    return inner, outer


def tag(inner: Any, outer: Any, data: bytes) -> bytes:
    """HMAC-SHA256 of `data`, from the states `keyed_states` made.

    Args:
        inner: The keyed inner state (copied, never changed).
        outer: The keyed outer state (copied, never changed).
        data: The bytes to authenticate.
    """
    return tag_of(inner, outer, (data,))


def tag_of(inner: Any, outer: Any, pieces: Iterable[Any]) -> bytes:
    """HMAC-SHA256 of the concatenation of `pieces` (buffers), without joining them.

    Args:
        inner: The keyed inner state (copied, never changed).
        outer: The keyed outer state (copied, never changed).
        pieces: The buffers to authenticate, in order.
    """
    state = inner.copy()
    for piece in pieces:
        state.update(piece)
    final = outer.copy()
    final.update(state.digest())
    digest: bytes = final.digest()
    return digest
