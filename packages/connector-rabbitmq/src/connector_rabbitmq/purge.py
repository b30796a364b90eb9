"""`purge()`: remove what a crashed run left on the broker, by job id.

A run whose parties all closed leaves nothing behind (its last party deletes the
connection's objects). A run that crashed can leave queues, exchanges and control logs named
`connector.<job_id>.…`. AMQP cannot list a broker's queues, so `purge` needs the spec ids
of the connections to remove (it reads each connection's control log to find its subscriber
queues), or, on the broker's own host, finds them with `rabbitmqctl`:

    python -m connector_rabbitmq JOB_ID [SPEC_ID ...]

Never purge a job that is still running: its parties lose their queues.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import uuid
from collections.abc import Iterable, Sequence

from aio_pika.abc import AbstractRobustConnection

from connector_core.connector import Connector
from connector_core.spec import check_job_id
from connector_rabbitmq.cleanup import delete_connection
from connector_rabbitmq.connection import connect
from connector_rabbitmq.control import LEAVE, ControlLog, ControlLogGoneError
from connector_rabbitmq.settings import RabbitMQSettings
from connector_rabbitmq.topology import Names

__all__ = ["main", "purge", "specs_on_broker"]


async def purge(
    job_id: str,
    specs: Iterable[str | Connector],
    connection: AbstractRobustConnection | None = None,
) -> list[str]:
    """Deletes the broker objects of the given connections of job `job_id`.

    Args:
        job_id: The crashed run's job id.
        specs: Spec ids (`"a.out..b.in"`) or connectors of the connections to remove.
        connection: Optional; an open connection. Default: a new one from `RabbitMQSettings()`
            (`RABBITMQ_URL`), closed afterwards.

    Returns:
        The prefixes of the connections that were purged.

    Raises:
        ValueError: If `job_id` is not 1-64 letters, digits, `_` or `-`.
        ChannelSetupError: If `RABBITMQ_URL` is unset or the broker cannot be reached.
    """
    check_job_id(job_id)
    own = connection is None
    conn = connection if connection is not None else await connect(RabbitMQSettings())
    purged: list[str] = []
    try:
        for spec in specs:
            spec_id = spec.id if isinstance(spec, Connector) else spec
            names = Names(job_id, spec_id)
            queues = await _subscriber_queues(conn, names)
            await delete_connection(conn, names, None, queues, keep_pending_work=False)
            purged.append(names.prefix)
    finally:
        if own:
            await conn.close()
    return purged


async def _subscriber_queues(conn: AbstractRobustConnection, names: Names) -> list[str]:
    """Reads the connection's control log to its end; returns every queue named in it."""
    channel = conn.channel()
    await channel.initialize()
    log = ControlLog(channel, names.control)
    try:
        marker = f"purge-{uuid.uuid4().hex[:8]}"
        await log.declare()
        await log.append(LEAVE, marker)
        await log.start()
        try:
            state = await log.wait_for(LEAVE, marker)
        except ControlLogGoneError:  # deleted meanwhile (by the last party or another purge)
            return []
        await log.stop()
        return [queue for queue in state.joined.values() if queue != names.work]
    finally:
        await channel.close()


def specs_on_broker(job_id: str) -> list[str]:
    """Spec ids of job `job_id` found with `rabbitmqctl` (only on the broker's host).

    Raises:
        FileNotFoundError: If `rabbitmqctl` is not installed here.
        subprocess.CalledProcessError: If `rabbitmqctl` fails.
    """
    if shutil.which("rabbitmqctl") is None:
        raise FileNotFoundError(
            "rabbitmqctl is not on PATH: pass the spec ids, or run this on the broker's host"
        )
    prefix = f"connector.{job_id}."
    out = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "name"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    specs: set[str] = set()
    for line in out.splitlines():
        name = line.strip()
        if name.startswith(prefix):
            rest = name[len(prefix) :]
            for suffix in (".work", ".returns", ".ctl", ".dead"):
                if rest.endswith(suffix):
                    specs.add(rest[: -len(suffix)])
            if ".sub." in rest:
                specs.add(rest.rpartition(".sub.")[0])
    return sorted(specs)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: `python -m connector_rabbitmq JOB_ID [SPEC_ID ...]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("job_id")
    parser.add_argument("spec_ids", nargs="*", help="default: found with rabbitmqctl")
    args = parser.parse_args(argv)
    specs = args.spec_ids or specs_on_broker(args.job_id)
    for prefix in asyncio.run(purge(args.job_id, specs)):
        print(f"purged {prefix}")
    return 0
