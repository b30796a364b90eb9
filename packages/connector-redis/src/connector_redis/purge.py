"""`purge()`: remove what a crashed run left in Redis, by job id.

A run whose parties all closed leaves nothing behind (its last party deletes the
connection's keys). A run that crashed can leave streams, groups and counters named
`connector:{<job id>}:...`; Redis can list them (`SCAN`), so the job id is enough:

    python -m connector_redis purge JOB_ID

Never purge a job that is still running: its parties lose their streams.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterable, Sequence

from redis.asyncio import Redis

from connector_core.connector import Connector
from connector_core.spec import check_job_id
from connector_redis.client import connect
from connector_redis.keys import Keys

__all__ = ["main", "purge"]


async def purge(
    job_id: str,
    client: Redis | None = None,
    *,
    specs: Iterable[str | Connector] | None = None,
) -> list[str]:
    """Deletes every key of job `job_id` (of every connection of that job, or of `specs`).

    Args:
        job_id: The crashed run's job id.
        client: Optional; an open client. Default: a new one from `REDIS_URL`, closed
            afterwards.
        specs: Optional; spec ids (`"a.out..b.in"`) or connectors: only these connections
            of the job are purged. Default: all of them.

    Returns:
        The keys deleted, sorted.

    Raises:
        ValueError: If `job_id` is not 1-64 letters, digits, `_` or `-`.
        ChannelSetupError: If Redis cannot be reached.
    """
    check_job_id(job_id)
    own = client is None
    redis = client if client is not None else await connect()
    if specs is None:
        patterns = [Keys.job_pattern(job_id)]
    else:
        ids = {spec.id if isinstance(spec, Connector) else spec for spec in specs}
        patterns = [f"{_glob_escape(Keys.of(job_id, spec_id).prefix)}:*" for spec_id in sorted(ids)]
    try:
        found: list[str] = sorted(
            {
                key.decode() if isinstance(key, bytes) else str(key)
                for pattern in patterns
                async for key in redis.scan_iter(match=pattern, count=500)
            }
        )
        for start in range(0, len(found), 500):
            await redis.delete(*found[start : start + 500])
        return found
    finally:
        if own:
            await redis.aclose()


def _glob_escape(text: str) -> str:
    """`text` as a `SCAN MATCH` pattern that matches only itself."""
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: `python -m connector_redis purge JOB_ID`."""
    parser = argparse.ArgumentParser(
        prog="python -m connector_redis", description=__doc__.splitlines()[0] if __doc__ else None
    )
    commands = parser.add_subparsers(dest="command", required=True)
    purging = commands.add_parser("purge", help="delete every Redis key of a crashed job")
    purging.add_argument("job_id")
    args = parser.parse_args(argv)
    keys = asyncio.run(purge(args.job_id))
    for key in keys:
        print(f"deleted {key}")
    print(f"purged job {args.job_id}: {len(keys)} key(s)")
    return 0
