"""`ServiceProbe`: the required check of a service a backend reaches at a URL, on loopback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from connector_core.cli.probes import Handshake, ServiceProbe, ServiceUrl
from connector_core.testing import closed_port

HINT = "start fake-server"
GREETING = b"HELLO\r\n"


def _answer(first: bytes, where: str) -> str | None:
    return f"a fake server answers at {where}" if first.startswith(b"+HI") else None


def _service(port: int) -> ServiceProbe:
    """A fake service whose `fake://` URLs default to `port` (`fakes://` is its TLS form)."""
    return ServiceProbe(
        "Fake server",
        ServiceUrl("FAKE_URL", {"fake": port, "fakes": port}, frozenset({"fakes"}), "127.0.0.1"),
        Handshake("FAKE/1", GREETING, _answer),
        HINT,
    )


class _Listener:
    """A loopback server that answers each connection's first bytes with `reply`."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.received: list[bytes] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self._sock.accept()
        with conn:
            self.received.append(conn.recv(64))
            conn.sendall(self.reply)

    def close(self) -> None:
        self._thread.join(timeout=10)
        self._sock.close()


@pytest.fixture
def listener(request: pytest.FixtureRequest) -> Iterator[_Listener]:
    served = _Listener(request.param)
    yield served
    served.close()


@pytest.mark.parametrize("listener", [b"+HI there\r\n"], indirect=True)
def test_a_service_that_answers_its_greeting_passes(listener: _Listener) -> None:
    probe = _service(listener.port).probe("fake://", timeout=5)
    assert probe.ok, probe.detail
    assert probe.detail == f"a fake server answers at 127.0.0.1:{listener.port}"
    assert listener.received == [GREETING]


@pytest.mark.parametrize("listener", [b"SSH-2.0-OpenSSH\r\n"], indirect=True)
def test_a_listener_in_another_protocol_fails_with_the_hint(listener: _Listener) -> None:
    probe = _service(closed_port()).probe(f"fake://127.0.0.1:{listener.port}/", timeout=5)
    assert not probe.ok
    where = f"127.0.0.1:{listener.port}"
    assert probe.detail == f"{where} accepts connections but does not speak FAKE/1; {HINT}"


def test_nothing_listening_fails_with_the_hint() -> None:
    probe = _service(closed_port()).probe("fake://", timeout=2)
    assert not probe.ok
    assert "nothing accepts connections" in probe.detail
    assert probe.detail.endswith(HINT)


@pytest.mark.parametrize("listener", [b""], indirect=True)
def test_a_tls_scheme_is_checked_at_the_tcp_level_only(listener: _Listener) -> None:
    probe = _service(listener.port).probe("fakes://", timeout=5)
    assert probe.ok
    assert probe.detail == (
        f"127.0.0.1:{listener.port} accepts TLS connections (FAKE/1 not checked through TLS)"
    )


def test_a_url_of_another_scheme_names_the_setting_with_the_password_masked() -> None:
    probe = _service(1).probe("http://user:secret@host/", timeout=1)
    assert not probe.ok
    assert (
        probe.detail == "FAKE_URL must start with fake:// or fakes://, got http://user:****@host/"
    )


def test_an_invalid_port_names_the_setting() -> None:
    probe = _service(1).probe("fake://host:notaport/", timeout=1)
    assert probe.detail == "FAKE_URL has an invalid port: fake://host:notaport/"


def test_check_is_required_masks_the_password_and_carries_the_note() -> None:
    check = _service(closed_port()).check("fake://bob:secret@127.0.0.1:1/", 1, "a note")
    assert check.required
    assert not check.probe.ok
    assert check.what == "Fake server at fake://bob:****@127.0.0.1:1/"
    assert check.notes == ("a note",)
    assert _service(1).check("fake://127.0.0.1:1/", 1).notes == ()
