"""The interface a connection listens on: parsing `zmq_address`, telling loopback apart."""

from __future__ import annotations

import ipaddress

__all__ = ["is_loopback", "parse_interface"]


def is_loopback(host: str) -> bool:
    """True when `host` (a bind host, IPv6 possibly in brackets) only listens on this machine."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # "*", a host name: other machines may reach it


def parse_interface(address: str) -> str:
    """Returns the host of a `tcp://HOST` address, the interface to bind listening sockets on.

    Raises:
        TypeError: If `address` is not a string.
        ValueError: If it is not of the form `tcp://HOST` (another scheme, a port, a path).
    """
    if not isinstance(address, str):
        raise TypeError(f"zmq_address must be a string such as 'tcp://127.0.0.1', got {address!r}")
    scheme, sep, host = address.partition("://")
    usage = "give the interface to listen on as 'tcp://HOST', e.g. 'tcp://127.0.0.1'"
    if not sep or scheme != "tcp":
        raise ValueError(f"zmq_address={address!r}: only tcp:// is supported; {usage}")
    invalid = ValueError(f"zmq_address={address!r} is not a valid address; {usage}")
    if host.startswith("["):
        bare, closed, rest = host[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            raise invalid
        port = rest[1:] if rest else None
    elif host.count(":") > 1:
        bare, port = host, None  # a bare IPv6 address
    else:
        bare, colon, port = host.partition(":")
        port = port if colon else None
    if port is not None:
        raise ValueError(
            f"zmq_address={address!r} names a port: each socket of a connection listens on "
            f"a free port of its own; {usage}"
        )
    if not bare or any(c in bare for c in "/?#@ []"):
        raise invalid
    if ":" in bare or host.startswith("["):
        try:
            ipaddress.IPv6Address(bare)
        except ValueError:
            raise invalid from None
        return f"[{bare}]"
    return bare
