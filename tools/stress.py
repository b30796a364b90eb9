"""Puts every installed backend through the stress scenarios and prints a summary table.

    uv run python tools/stress.py            # issue-size runs (minutes)
    uv run python tools/stress.py --quick    # small runs (seconds per backend)
    uv run python tools/stress.py --backends zmq ray --json stress.json

Scenarios (see connector_core.testing.stress): a stream with cancelled receives, a long
stream with resources counted before and after, a stalled consumer (backlog measured), a
fuzzer feeding bad frames, and a receiver process killed with SIGKILL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from dataclasses import asdict
from typing import Any

from connector_core import Connector, ConnectorMode, ConnectorSpec
from connector_core.testing.backends import (
    BackendProfile,
    installed_profiles,
    unavailable_reason,
)
from connector_core.testing.stress import (
    Outcome,
    Resources,
    fuzz_frames,
    kill_a_receiver,
    stalled_consumer,
    stream,
)

SIZES = {
    "quick": {"cancel": (20_000, 2_000), "soak": 100_000, "stall": (3_000, 1.0), "fuzz": 200},
    "full": {"cancel": (100_000, 10_000), "soak": 1_000_000, "stall": (20_000, 5.0), "fuzz": 1000},
}
MAXSIZE = 100


def _make(profile: BackendProfile, mode: ConnectorMode, maxsize: int = 1000) -> Connector:
    tag = uuid.uuid4().hex[:10]
    spec = ConnectorSpec(f"stress-{tag}.out", f"sink-{tag}.in", mode)
    return profile.connector_class()(spec, maxsize=maxsize)


async def _soak(profile: BackendProfile, mode: ConnectorMode, messages: int) -> Outcome:
    await stream(_make(profile, mode), 1_000)
    before = Resources.now()
    outcome = await stream(_make(profile, mode), messages)
    growth = before.growth(Resources.now())
    outcome.scenario = "soak"
    outcome.notes.append(" ".join(f"{key}{value:+g}" for key, value in growth.items()))
    return outcome


async def run_backend(profile: BackendProfile, size: str) -> list[Outcome]:
    """Runs every scenario that applies to `profile`'s backend."""
    sizes: dict[str, Any] = SIZES[size]
    outcomes: list[Outcome] = []
    for mode in ConnectorMode:
        messages, cancels = sizes["cancel"]
        outcomes.append(await stream(_make(profile, mode), messages, cancels=cancels))
        outcomes.append(await _soak(profile, mode, sizes["soak"]))
        messages, stall = sizes["stall"]
        outcome = await stalled_consumer(_make(profile, mode, MAXSIZE), messages, stall=stall)
        outcome.notes.append(f"bound {profile.backlog_bound(MAXSIZE)}")
        outcomes.append(outcome)
        if profile.serialized:
            outcomes.append(await fuzz_frames(_make(profile, mode), sizes["fuzz"]))
    if profile.cross_process:
        outcome = await kill_a_receiver(_make(profile, ConnectorMode.PIPELINE, MAXSIZE), 3_000)
        outcome.notes.append(f"allowed loss {profile.loss_on_kill}")
        outcomes.append(outcome)
    return outcomes


def _table(rows: list[tuple[str, Outcome | str]]) -> str:
    header = ("backend", "scenario", "mode", "messages", "lost", "dup", "cancelled",
              "max buffered", "rejected", "msgs/s", "notes")  # fmt: skip
    lines = [header]
    for backend, outcome in rows:
        if isinstance(outcome, str):
            lines.append((backend, "-", "-", "-", "-", "-", "-", "-", "-", "-", outcome))
            continue
        lines.append((
            backend, outcome.scenario, outcome.mode, str(outcome.messages), str(outcome.lost),
            str(outcome.duplicated), str(outcome.cancelled),
            "-" if outcome.max_buffered is None else str(outcome.max_buffered),
            str(outcome.rejected), f"{outcome.rate:,.0f}", "; ".join(outcome.notes),
        ))  # fmt: skip
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in lines
    )


async def collect(args: argparse.Namespace) -> tuple[list[tuple[str, Outcome | str]], bool]:
    """Runs the scenarios; also says whether any lost or duplicated what it must not."""
    rows: list[tuple[str, Outcome | str]] = []
    failed = False
    for name, profile in installed_profiles().items():
        if args.backends and name not in args.backends:
            continue
        reason = unavailable_reason(profile)
        if reason:
            rows.append((name, f"cannot run: {reason}"))
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        for outcome in await run_backend(profile, "quick" if args.quick else "full"):
            rows.append((name, outcome))
            allowed = profile.loss_on_kill if outcome.scenario == "kill-receiver" else 0
            if outcome.lost > (allowed or 0) or (
                outcome.duplicated and outcome.scenario != "kill-receiver"
            ):
                failed = True
    return rows, failed


def main(argv: list[str] | None = None) -> int:
    """Runs the scenarios, prints the table; exit status 1 when a scenario failed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small runs")
    parser.add_argument("--backends", nargs="*", help="only these backends")
    parser.add_argument("--json", metavar="FILE", help="also write the outcomes as JSON")
    args = parser.parse_args(argv)
    rows, failed = asyncio.run(collect(args))
    print(_table(rows))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(
                [{"backend": b, **(asdict(o) if isinstance(o, Outcome) else {"error": o})}
                 for b, o in rows],
                out, indent=2,
            )  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
