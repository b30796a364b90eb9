"""What the demo's collector keeps of the results, and the exactly-once verdict.

`Tally` records every answer the collector receives; `Tally.verdict()` checks that every job
id `0..N-1` arrived exactly once with the right value, and computes throughput (jobs over the
time from the producer's first send to the collector's last receipt) and end-to-end latency
(producer send to collector receipt, through a worker) percentiles.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from connector_core.cli.demo_roles import job_value

__all__ = ["Tally", "Verdict", "percentile"]


def percentile(samples: Sequence[int], q: float) -> int:
    """Returns the `q`-th percentile (nearest rank) of `samples`.

    Raises:
        ValueError: If `samples` is empty.
    """
    if not samples:
        raise ValueError("percentile of no samples")
    ordered = sorted(samples)
    rank = min(len(ordered), max(1, -(-len(ordered) * q // 100)))
    return ordered[int(rank) - 1]


@dataclass(frozen=True)
class Verdict:
    """The outcome of a demo run."""

    expected: int
    """Jobs the producer was asked to send."""
    delivered: int
    """Distinct job ids answered."""
    missing: list[int]
    """Ids never answered (at most the first 10)."""
    missing_count: int
    duplicates: int
    """Answers beyond the first for an id."""
    wrong: int
    """Answers with a wrong value or an id outside `0..N-1`."""
    per_worker: dict[int, int]
    """Answers per worker index."""
    msgs_per_s: float | None
    p50_us: float | None
    p99_us: float | None

    @property
    def exactly_once(self) -> bool:
        """True when every id arrived exactly once with the right value."""
        return (
            self.delivered == self.expected
            and self.missing_count == 0
            and self.duplicates == 0
            and self.wrong == 0
        )


@dataclass
class Tally:
    """The collector's record of the answers."""

    expected: int
    counts: Counter[int] = field(default_factory=Counter)
    per_worker: Counter[int] = field(default_factory=Counter)
    latencies_ns: list[int] = field(default_factory=list)
    wrong: int = 0
    delivered: int = 0
    """Distinct valid ids answered so far."""
    first_sent_ns: int | None = None
    last_received_ns: int | None = None

    def record(self, job_id: int, worker: int, value: int, sent_ns: int, now_ns: int) -> bool:
        """Records one answer received at `now_ns`; returns True if its id is new."""
        new = self.counts[job_id] == 0 and 0 <= job_id < self.expected
        self.counts[job_id] += 1
        if new:
            self.delivered += 1
        self.per_worker[worker] += 1
        if not 0 <= job_id < self.expected or value != job_value(job_id):
            self.wrong += 1
        self.latencies_ns.append(now_ns - sent_ns)
        if self.first_sent_ns is None or sent_ns < self.first_sent_ns:
            self.first_sent_ns = sent_ns
        self.last_received_ns = now_ns
        return new

    def verdict(self) -> Verdict:
        """Returns the verdict on what was recorded."""
        missing = [i for i in range(self.expected) if self.counts[i] == 0]
        duplicates = sum(n - 1 for n in self.counts.values() if n > 1)
        rate = None
        if self.first_sent_ns is not None and self.last_received_ns is not None:
            elapsed = (self.last_received_ns - self.first_sent_ns) / 1e9
            rate = self.delivered / elapsed if elapsed > 0 else None
        lat = self.latencies_ns
        return Verdict(
            expected=self.expected,
            delivered=self.delivered,
            missing=missing[:10],
            missing_count=len(missing),
            duplicates=duplicates,
            wrong=self.wrong,
            per_worker=dict(sorted(self.per_worker.items())),
            msgs_per_s=rate,
            p50_us=percentile(lat, 50) / 1000 if lat else None,
            p99_us=percentile(lat, 99) / 1000 if lat else None,
        )
