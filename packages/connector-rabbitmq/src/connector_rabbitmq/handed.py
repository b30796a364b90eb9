"""`HandedLog`: how many frames of each recent message id this process handed out, per queue.

A message can come twice (a redelivery after a connection loss, a publish retried after a
refusal or a lost confirm: `connector_rabbitmq.consumer`). The log lets a consumer skip the
frames of such a copy that were handed out already, here or by another receiver of this
process on the same queue, and resume a partly handed message where it stopped. It keeps
the newest `_HANDED_CAPACITY` message ids, and the retry attempts taken of each
(`connector_rabbitmq.retries`).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

from connector_rabbitmq.retries import RetryLog

__all__ = ["HandedLog", "handed_log"]

_HANDED_CAPACITY: Final = 65536


class HandedLog:
    """Frames handed out per message id, for the most recent ids of one queue."""

    def __init__(self, capacity: int = _HANDED_CAPACITY) -> None:
        """Creates an empty log that remembers up to `capacity` message ids."""
        self._ids: OrderedDict[str, int] = OrderedDict()
        self._capacity = capacity
        self.retries = RetryLog(capacity)
        """The retry attempts taken per message id (`connector_rabbitmq.retries`)."""

    def handed(self, message_id: str) -> int:
        """Frames of `message_id` handed out so far."""
        return self._ids.get(message_id, 0)

    def record(self, message_id: str, count: int) -> None:
        """Records that `count` frames of `message_id` have been handed out."""
        self._ids[message_id] = count
        self._ids.move_to_end(message_id)
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)


_HANDED: dict[str, HandedLog] = {}


def handed_log(queue_name: str) -> HandedLog:
    """Returns this process's `HandedLog` for a queue (shared by its receivers here)."""
    log = _HANDED.get(queue_name)
    if log is None:
        log = _HANDED[queue_name] = HandedLog()
    return log
