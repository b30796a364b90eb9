"""Who may hold a connection to a listening socket: the connection's key, checked at handshake.

ZeroMQ accepts every TCP connection to a bound socket, and with its default NULL mechanism
any local process completes the handshake and stays connected for as long as it likes. The
signature on every frame keeps such a peer from changing what a receiver gets, but each of
its connections holds a file descriptor of the listening process, and ZeroMQ offers no way
to close one chosen peer. So when the connection signs its frames, its sockets use the
PLAIN mechanism with credentials derived from the key, and nobody else gets past the
handshake:

- **The password** is an HMAC of the connection id under the connection's key
  (`credentials`): every member derives it, nobody without the key can, and it reveals
  nothing about the key. Two connections that share a secret have different passwords.
- **Listening sockets** (a receiver's data socket, the rendezvous) are PLAIN servers whose
  ZAP domain names the password's fingerprint. A ZAP handler of their ZeroMQ context
  (`Gate`) answers 200 for the right password and 400 for anything else, and
  `ZAP_ENFORCE_DOMAIN` makes a missing handler refuse rather than admit. A refused peer is
  disconnected at once; its frames never reach the application.
- **Every socket** has `HANDSHAKE_IVL` = `HANDSHAKE_MS`: a connection that has not finished
  the handshake in that time (an idle TCP connection, a slow-loris peer) is closed by
  ZeroMQ. So a keyless process holds a listener's descriptors only for what it can open
  within `HANDSHAKE_MS`, and loses each of them after that, however long it keeps its end.
- **Connecting sockets** present the credentials (`secure_client`).

Unsigned connections (`sign_messages=False`) keep the NULL mechanism: there is no key to
derive a password from. Their listeners still close connections that stall in the handshake.

The process's shared context gets one `Gate` on a daemon thread (`gate_for`), made with its
first keyed listener and ended with the context: `zmq_context()`'s `term()` interrupts its
receive and it closes its socket. The rendezvous, which has a private context and a thread of
its own, polls its gate's socket in its own loop instead (`Gate.serve_one`).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import weakref
from typing import Any, Final

import zmq

from connector_core.codec import Codec
from connector_core.exceptions import ChannelSetupError
from connector_zmq import protocol as p

__all__ = [
    "HANDSHAKE_MS",
    "USERNAME",
    "ZAP_ENDPOINT",
    "Gate",
    "credentials",
    "gate_for",
    "listen_guarded",
    "secure_client",
    "secure_server",
]

HANDSHAKE_MS: Final = 3000
"""Milliseconds a connection may take to finish its ZeroMQ handshake before it is closed.

A member's handshake takes well under a millisecond on one host; a connection whose
handshake fails or times out is retried by ZeroMQ (every `RECONNECT_IVL`), and a member's
queued messages wait in its socket meanwhile, so a busy machine delays them, never loses them.
"""

USERNAME: Final = b"connector"
"""The PLAIN user name every member presents (the password is what proves the key)."""

ZAP_ENDPOINT: Final = "inproc://zeromq.zap.01"
"""Where ZeroMQ sends authentication requests (RFC 27), one handler per context."""

_STATUS_OK: Final = b"200"
_STATUS_DENIED: Final = b"400"


def credentials(codec: Codec) -> bytes | None:
    """The PLAIN password of `codec`'s connection, or None when the codec does not sign.

    Args:
        codec: The connection's codec (bound to the connection: its id is part of the proof).
    """
    if not codec.signed:
        return None
    tag = codec.sign(b"zmq-plain:" + codec.connection)[:32]
    return tag.hex().encode()


def _domain(password: bytes) -> bytes:
    """The ZAP domain of listeners that admit `password` (a fingerprint, never the password)."""
    return hashlib.sha256(b"connector-zap:" + password).hexdigest()[:32].encode()


def secure_client(sock: zmq.Socket[Any], codec: Codec) -> None:
    """Makes the connecting socket `sock` present the connection's credentials.

    Call before `connect()`.
    """
    sock.setsockopt(zmq.HANDSHAKE_IVL, HANDSHAKE_MS)
    password = credentials(codec)
    if password is None:
        return
    sock.setsockopt(zmq.PLAIN_USERNAME, USERNAME)
    sock.setsockopt(zmq.PLAIN_PASSWORD, password)


def secure_server(sock: zmq.Socket[Any], codec: Codec, gate: Gate | None) -> None:
    """Makes the listening socket `sock` admit only peers with the connection's credentials.

    Call before `bind()`. `gate` is the ZAP handler of `sock`'s context (`gate_for`); it may
    be None only when `codec` does not sign.

    Raises:
        ValueError: If `codec` signs and no gate is given.
    """
    sock.setsockopt(zmq.HANDSHAKE_IVL, HANDSHAKE_MS)
    password = credentials(codec)
    if password is None:
        return
    if gate is None:
        raise ValueError("a signing connection's listener needs its context's Gate")
    domain = gate.admit(password)
    sock.setsockopt(zmq.PLAIN_SERVER, 1)
    sock.setsockopt(zmq.ZAP_DOMAIN, domain)
    sock.setsockopt(zmq.ZAP_ENFORCE_DOMAIN, 1)


class Gate:
    """The ZAP handler of one ZeroMQ context: admits PLAIN peers with a known password.

    It binds `ZAP_ENDPOINT` in the context when made. Either `start()` serves it on a daemon
    thread until the context is terminated, or the owner polls `socket` and calls
    `serve_one()` when it is readable.
    """

    def __init__(self, context: zmq.Context[Any]) -> None:
        """Binds the context's ZAP endpoint.

        Args:
            context: The context whose listeners this gate guards (an asyncio context is
                served through a plain shadow of it).

        Raises:
            ChannelSetupError: If the context already has a ZAP handler (one installed by
                other code on a context given through `DI.zmq_context`), or no file
                descriptor is left.
        """
        plain = context if type(context) is zmq.Context else zmq.Context.shadow(context)
        self._passwords: dict[bytes, bytes] = {}
        self._lock = threading.Lock()
        self.refused = 0
        """How many handshakes this gate refused."""
        try:
            self.socket: zmq.Socket[bytes] = plain.socket(zmq.REP)
        except zmq.ZMQError as exc:
            raise p.socket_error(exc) from exc
        self.socket.setsockopt(zmq.LINGER, 0)
        try:
            self.socket.bind(ZAP_ENDPOINT)
        except zmq.ZMQError as exc:
            self.socket.close(0)
            raise ChannelSetupError(
                "the ZeroMQ context already has an authentication (ZAP) handler, so "
                "connector-zmq cannot check who connects: give DI.zmq_context a context of "
                f"its own ({exc})"
            ) from exc

    def admit(self, password: bytes) -> bytes:
        """Lets peers presenting `password` in; returns the ZAP domain to give listeners."""
        domain = _domain(password)
        with self._lock:
            self._passwords[domain] = password
        return domain

    def start(self) -> None:
        """Serves requests on a daemon thread until the context is terminated."""
        thread = threading.Thread(target=self._serve, name="connector-zmq-gate", daemon=True)
        thread.start()

    def _serve(self) -> None:
        try:
            while True:
                self.serve_one(block=True)
        except zmq.ContextTerminated:
            pass
        finally:
            self.socket.close(0)

    def serve_waiting(self) -> None:
        """Answers every authentication request waiting now (for an owner's poll loop)."""
        while self.serve_one():
            pass

    def serve_one(self, *, block: bool = False) -> bool:
        """Answers one authentication request; False when none was waiting (and not `block`).

        Raises:
            zmq.ContextTerminated: If the context is being terminated.
        """
        try:
            request = self.socket.recv_multipart(0 if block else zmq.NOBLOCK)
        except zmq.Again:
            return False
        self.socket.send_multipart(self._answer(request))
        return True

    def _answer(self, request: list[bytes]) -> list[bytes]:
        # RFC 27: version, request id, domain, address, identity, mechanism, credentials...
        version, request_id = [*request, b"", b""][:2]
        status = _STATUS_DENIED
        if len(request) == 8 and version == b"1.0" and request[5] == b"PLAIN":
            domain, username, password = request[2], request[6], request[7]
            with self._lock:
                expected = self._passwords.get(domain)
            if (
                expected is not None
                and hmac.compare_digest(username, USERNAME)
                and hmac.compare_digest(password, expected)
            ):
                status = _STATUS_OK
        if status != _STATUS_OK:
            self.refused += 1
        text = b"OK" if status == _STATUS_OK else b"the connection's key is required"
        return [b"1.0", request_id, status, text, b"", b""]


_GATES: weakref.WeakKeyDictionary[zmq.Context[Any], Gate] = weakref.WeakKeyDictionary()
_GATES_LOCK = threading.Lock()


def gate_for(context: zmq.Context[Any]) -> Gate:
    """The `Gate` of `context`, made and started on a thread on first use.

    Raises:
        ChannelSetupError: See `Gate`.
    """
    with _GATES_LOCK:
        gate = _GATES.get(context)
        if gate is None:
            gate = _GATES[context] = Gate(context)
            gate.start()
        return gate


def listen_guarded(
    context: zmq.Context[Any], bind_host: str, codec: Codec
) -> tuple[zmq.Socket[bytes], str, Gate | None]:
    """A ROUTER of the private `context`, bound on `bind_host`, that admits only members.

    Returns the socket, its address and its context's `Gate`, which the caller serves
    (`Gate.serve_waiting` when its socket is readable) and closes; None when `codec` does
    not sign (the NULL mechanism: nothing to serve).

    Args:
        context: A plain context of the caller's own (no other ZAP handler in it).
        bind_host: The interface to listen on.
        codec: The connection's codec: its key decides who gets in.

    Raises:
        ChannelSetupError: If the host cannot be bound, or no file descriptor is left.
    """
    gate = Gate(context) if codec.signed else None
    try:
        sock, address = p.listen(context, bind_host, lambda s: secure_server(s, codec, gate))
    except BaseException:
        if gate is not None:
            gate.socket.close(0)
        raise
    return sock, address, gate
