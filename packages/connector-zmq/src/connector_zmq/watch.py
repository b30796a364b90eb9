"""Crash watching for the rendezvous: the processes of its participants, through pidfds.

A pidfd (Linux) becomes readable when its process exits. The rendezvous registers one per
participant process on its host in its poller and asks `ProcessWatch.died()` which
participants went with a process that exited. Participants on other hosts, in the
rendezvous's own process, or on systems without `os.pidfd_open` are not watched.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import zmq

from connector_zmq import protocol as p

__all__ = ["ProcessWatch"]


class ProcessWatch:
    """The pidfds of the participants' processes, registered in one poller."""

    def __init__(self, poller: zmq.Poller) -> None:
        """Creates an empty watch.

        Args:
            poller: The poller that the pidfds are registered in.
        """
        self._poller = poller
        self._pidfds: dict[int, int] = {}
        self._members: dict[int, set[bytes]] = {}
        self._pid_of: dict[bytes, int] = {}

    def watch(self, participant: bytes, token: bytes) -> int | None:
        """Watches the participant's process (same host only).

        Args:
            participant: The participant's id.
            token: The host-and-pid token it sent when it registered.

        Returns:
            The pid if that process has already gone (then call `died(pid)`), else None.
        """
        pid = p.same_host_pid(token)
        if pid is None or pid == os.getpid() or not hasattr(os, "pidfd_open"):
            return None
        self._members.setdefault(pid, set()).add(participant)
        self._pid_of[participant] = pid
        if pid in self._pidfds:
            return None
        try:
            fd = os.pidfd_open(pid)
        except OSError:  # already gone, or not permitted: treat as gone
            return pid
        self._pidfds[pid] = fd
        self._poller.register(fd, zmq.POLLIN)
        return None

    def exited(self, events: Mapping[object, int]) -> list[int]:
        """The watched pids whose pidfd is readable in `events` (one poll's result)."""
        return [pid for pid, fd in self._pidfds.items() if fd in events]

    def unwatch(self, participant: bytes) -> None:
        """Stops watching for a participant that left."""
        pid = self._pid_of.pop(participant, None)
        if pid is None:
            return
        members = self._members.get(pid, set())
        members.discard(participant)
        if not members:
            self._release(pid)

    def died(self, pid: int) -> set[bytes]:
        """Forgets a process that exited and returns the participants it took with it."""
        members = self._members.get(pid, set())
        self._release(pid)
        for participant in members:
            self._pid_of.pop(participant, None)
        return members

    def close(self) -> None:
        """Closes every pidfd (the rendezvous is stopping)."""
        for fd in self._pidfds.values():
            os.close(fd)
        self._pidfds.clear()

    def _release(self, pid: int) -> None:
        self._members.pop(pid, None)
        fd = self._pidfds.pop(pid, None)
        if fd is not None:
            self._poller.unregister(fd)
            os.close(fd)
