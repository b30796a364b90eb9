"""The benchmark table: its columns and the text of each cell, for every backend's rows.

`connector bench` draws it with rich; `cells()` gives the text of a row, `meets_target()`
whether a row's ratio reaches the target its backend's issue set (the ratio's colour).
"""

from __future__ import annotations

from connector_core.benchmarking.rows import Row

__all__ = ["COLUMNS", "FOOTNOTE", "cells", "meets_target"]

COLUMNS = (
    ("backend", "left"),
    ("scenario", "left"),
    ("baseline (bare transport, same run)", "left"),
    ("msgs/s", "right"),
    ("baseline msgs/s", "right"),
    ("ratio", "right"),
    ("p50 / p99 us", "right"),
    ("baseline p50 / p99 us", "right"),
)
"""Each column's header and justification."""

FOOTNOTE = (
    "ratio = backend msgs/s / bare transport msgs/s, both measured in the same run "
    "(marked *: bare p50 / backend p50, one item in flight at a time); "
    "latency: p50 / p99 in microseconds from send() to recv(), as each benchmark's "
    "module describes"
)
"""What the numbers mean, printed under the table."""


def _number(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _latency(row: Row, prefix: str = "") -> str:
    p50, p99 = row.get(f"{prefix}p50_us"), row.get(f"{prefix}p99_us")
    if p50 is None and p99 is None:
        return "-"
    return f"{_number(p50)} / {_number(p99)}"


def _rate(row: Row, prefix: str = "") -> str:
    rate, size = row.get(f"{prefix}msgs_per_s"), row.get("item_bytes")
    if isinstance(rate, int | float) and isinstance(size, int) and size > 0:
        return f"{_number(rate)} ({rate * size / 2**20:,.0f} MiB/s)"
    return _number(rate)


def meets_target(row: Row) -> bool | None:
    """Returns whether the row's ratio reaches its target, or None without either."""
    ratio, target = row.get("ratio"), row.get("target")
    if not isinstance(ratio, int | float) or not isinstance(target, int | float):
        return None
    return ratio >= target


def cells(row: Row) -> list[str]:
    """Returns the text of each column for `row` (a row without numbers shows its note)."""
    if row.get("msgs_per_s") is None and row.get("note") is not None:
        blanks = [""] * (len(COLUMNS) - 3)
        return [str(row.get("backend")), "cannot run", str(row["note"]), *blanks]
    ratio = row.get("ratio")
    of_p50 = "*" if row.get("ratio_of") == "p50" else ""
    return [
        _number(row.get("backend")),
        _number(row.get("scenario")),
        _number(row.get("baseline")),
        _rate(row),
        _rate(row, "baseline_"),
        f"{ratio:.3g}x{of_p50}" if isinstance(ratio, int | float) else "-",
        _latency(row),
        _latency(row, "baseline_"),
    ]
