"""Run every backend benchmark (`tools/bench_*.py`) and print one combined table.

Each benchmark module exposes ``run(quick: bool) -> list[dict[str, object]]`` returning rows
with the keys in `ROW_KEYS`. This script runs each module in its own Python process (so one
backend's event loop, threads or Ray runtime cannot disturb the next) with the interpreter
that runs it. A module that cannot be imported because a module it needs is not installed (its
backend's distribution or transport) gives a row saying which, instead of numbers, and does
not count as a failure; a module that fails otherwise (any other import error, an exception
from `run()`, a timeout, rows without the keys) gives a row with its error, and the exit
status is 1.

Usage: ``uv run python tools/bench.py [--quick] [--json FILE] [--only NAME ...]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ROW_KEYS", "BenchResult", "discover", "format_table", "main", "run_module"]

TOOLS = Path(__file__).resolve().parent

ROW_KEYS = (
    "backend",
    "scenario",
    "baseline",
    "messages",
    "msgs_per_s",
    "baseline_msgs_per_s",
    "ratio",
    "p50_us",
    "p99_us",
)
"""The keys every benchmark row has (None where not measured)."""

_COLUMNS = [
    ("backend", "backend"),
    ("scenario", "scenario"),
    ("baseline", "baseline"),
    ("messages", "messages"),
    ("msgs/s", "msgs_per_s"),
    ("base msgs/s", "baseline_msgs_per_s"),
    ("ratio", "ratio"),
    ("p50 us", "p50_us"),
    ("p99 us", "p99_us"),
    ("note", "note"),
]

# Imports the module by path, calls run(), writes the rows (or why it could not) as JSON.
_DRIVER = """
import importlib.util, json, sys, traceback
path, quick, out = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
def report(status, **data):
    with open(out, "w") as fh:
        json.dump({"status": status, **data}, fh)
try:
    spec = importlib.util.spec_from_file_location("bench_module", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickle look modules up here
    spec.loader.exec_module(module)
except ModuleNotFoundError as exc:
    report("unavailable", reason=f"not installed: {exc.name} (cannot import {exc.name!r})")
    sys.exit(0)
except Exception as exc:
    traceback.print_exc()
    report("failed", reason=f"import failed: {type(exc).__name__}: {exc}")
    sys.exit(0)
try:
    rows = module.run(quick)
except Exception as exc:
    traceback.print_exc()
    report("failed", reason=f"{type(exc).__name__}: {exc}")
    sys.exit(0)
report("ok", rows=rows)
"""


@dataclass
class BenchResult:
    """The outcome of one benchmark module."""

    name: str
    """The backend's name, from the file name (``bench_zmq.py`` -> ``zmq``)."""
    status: str
    """``ok``, ``unavailable`` (could not import) or ``failed`` (raised or timed out)."""
    rows: list[dict[str, object]]
    """The module's rows, or one row with a note saying why there are none."""


def discover(tools_dir: Path = TOOLS) -> list[Path]:
    """Returns the benchmark modules in `tools_dir`, sorted by name."""
    return sorted(tools_dir.glob("bench_*.py"))


def _note_row(name: str, note: str) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(ROW_KEYS)
    row["backend"] = name
    row["note"] = note
    return row


def run_module(path: Path, quick: bool, timeout: float) -> BenchResult:
    """Runs one benchmark module in a child process.

    Args:
        path: The module's file.
        quick: Passed to the module's `run()`.
        timeout: Seconds before the child is killed and the module counts as failed.

    Returns:
        The module's result; never raises for a failing module.
    """
    name = path.stem.removeprefix("bench_")
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, "-c", _DRIVER, str(path), "1" if quick else "0", str(out)]
        try:
            proc = subprocess.run(command, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return BenchResult(name, "failed", [_note_row(name, f"timed out after {timeout}s")])
        if not out.exists():
            note = f"benchmark process exited with status {proc.returncode} and no result"
            return BenchResult(name, "failed", [_note_row(name, note)])
        result = json.loads(out.read_text())
    status = str(result["status"])
    if status != "ok":
        return BenchResult(name, status, [_note_row(name, str(result["reason"]))])
    rows = result["rows"]
    problems = [
        f"row {i} lacks {sorted(set(ROW_KEYS) - set(row))}"
        for i, row in enumerate(rows)
        if not set(ROW_KEYS) <= set(row)
    ]
    if not rows or problems:
        note = "; ".join(problems) or "run() returned no rows"
        return BenchResult(name, "failed", [_note_row(name, f"bad result: {note}")])
    return BenchResult(name, "ok", rows)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 10 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _note(row: dict[str, object]) -> str | None:
    note, target, ratio = row.get("note"), row.get("target"), row.get("ratio")
    if note is None and isinstance(target, int | float) and isinstance(ratio, int | float):
        return f"target >= {target}x: {'ok' if ratio >= target else 'BELOW TARGET'}"
    return None if note is None else str(note)


def format_table(rows: Sequence[dict[str, object]]) -> str:
    """Returns `rows` as one aligned text table (missing values print as ``-``).

    The note column holds why a backend has no numbers, or, for a row with a ``target``
    ratio, whether the ratio meets it.
    """
    header = [title for title, _ in _COLUMNS]
    body = [
        [_cell(_note(row) if key == "note" else row.get(key)) for _, key in _COLUMNS]
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [header, *body]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmarks from the command line.

    Args:
        argv: Command-line arguments (default: `sys.argv[1:]`).

    Returns:
        0 when every importable benchmark ran, 1 when one failed, 2 for bad arguments.
    """
    parser = argparse.ArgumentParser(description="Run every tools/bench_*.py benchmark.")
    parser.add_argument("--quick", action="store_true", help="short runs (~30 s per backend)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write all rows here")
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", help="run only these backends (e.g. asyncio zmq)"
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds per benchmark (default 600)"
    )
    args = parser.parse_args(argv)
    modules = discover()
    if args.only:
        known = {path.stem.removeprefix("bench_"): path for path in modules}
        unknown = sorted(set(args.only) - set(known))
        if unknown:
            parser.error(f"no benchmark for {', '.join(unknown)}; available: {', '.join(known)}")
        modules = [known[name] for name in args.only]
    results: list[BenchResult] = []
    for path in modules:
        print(f"running {path.name}{' (quick)' if args.quick else ''} ...", flush=True)
        results.append(run_module(path, quick=args.quick, timeout=args.timeout))
    rows = [row for result in results for row in result.rows]
    print()
    print(format_table(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"quick": args.quick, "python": sys.version.split()[0], "rows": rows}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"\nwrote {len(rows)} rows to {args.json}")
    failed = [result.name for result in results if result.status == "failed"]
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
