"""`JobConnector`: the base of connectors whose connection is named by a job id and its spec.

A backend whose parties meet at a broker or a server finds the connection by name: the job id
(`DI.job_id` unless one is given) and the spec's id, so a copy of the connector in another
process, given only those, joins the same connection. The codec is bound to the backend, the
job id and the spec (`"<scope>:<job id>:<spec id>"`), so what it signs is good for this
connection only.

Pickling carries the spec, `maxsize`, the job id, the codec and the attributes the subclass
lists in `pickled`; anything else (a client, a broker connection) stays behind, and each
process opens its own.
"""

from __future__ import annotations

from typing import Any, ClassVar

from connector_core.channel import CHAN_MAXSIZE
from connector_core.codec import Codec
from connector_core.connector import Connector
from connector_core.di import container
from connector_core.serde import Serializer
from connector_core.settings import Settings
from connector_core.spec import ConnectorSpec, check_job_id

__all__ = ["JobConnector"]


class JobConnector(Connector):
    """A connector whose connection is named by its job id and spec id (see the module)."""

    scope: ClassVar[str]
    """The backend's name in the codec's binding: `"redis"` binds it to
    `"redis:<job id>:<spec id>"`."""
    pickled: ClassVar[tuple[str, ...]] = ()
    """The subclass's own attributes that travel when the connector is pickled."""

    def __init__(
        self,
        spec: ConnectorSpec | dict[str, Any],
        *args: Any,
        settings: Settings,
        maxsize: int = CHAN_MAXSIZE,
        job_id: str | None = None,
        serializer: Serializer | str | None = None,
        **kwargs: Any,
    ) -> None:
        """Creates the connector; does no I/O and needs no event loop.

        Args:
            spec: What to connect.
            *args: Passed to `Connector`.
            settings: The common settings (the subclass injects `DI.settings`): the
                serializer and signing.
            maxsize: Optional; the capacity of each channel, in items (`<= 0`: unbounded).
            job_id: Optional; scopes the names of this run on the broker or server.
                Default: `DI.job_id` (`CONNECTOR_JOB_ID`, or generated once per process).
            serializer: Optional; overrides the `CONNECTOR_SERIALIZER` setting.
            **kwargs: Passed to `Connector`.

        Raises:
            ValueError: If `job_id` is not 1-64 letters, digits, `_` or `-`.
            TypeError: If `spec` or `maxsize` is malformed.
        """
        super().__init__(spec, *args, maxsize=maxsize, **kwargs)
        job = job_id if job_id is not None else container.job_id()
        check_job_id(job)
        self.job_id = job
        self.codec: Codec = settings.make_codec(serializer).bound(
            f"{self.scope}:{job}:{self.spec.id}"
        )

    def __getstate__(self) -> dict[str, Any]:
        state = {name: getattr(self, name) for name in ("maxsize", "job_id", "codec")}
        state.update({name: getattr(self, name) for name in self.pickled})
        return {"spec": self.spec.to_dict(), **state}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.spec = ConnectorSpec(**state["spec"])
        for name in ("maxsize", "job_id", "codec", *self.pickled):
            setattr(self, name, state[name])

    def __repr__(self) -> str:
        mode = self.spec.mode.value
        return f"{type(self).__name__}({self.id!r}, mode={mode!r}, job_id={self.job_id!r})"
