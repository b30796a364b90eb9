"""The child process `connector bench` runs each benchmark in.

``python -m connector_core.cli.bench_child NAME QUICK OUT`` loads the `connector.benchmarks`
entry point `NAME`, calls it with `quick` (`QUICK` is ``1`` or ``0``) and writes to the file
`OUT` one JSON object: ``{"status": "ok", "rows": [...], "seconds": s}``, or a `status` of
``unavailable`` (a module it needs is not installed; a service is missing:
`ChannelSetupError`) or ``failed`` (anything else), with a one-line `reason`. The traceback
of a failure goes to stderr.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path

from connector_core.exceptions import ChannelSetupError

__all__ = ["main"]

_GROUP = "connector.benchmarks"


def _write(out: Path, status: str, **data: object) -> None:
    out.write_text(json.dumps({"status": status, **data}, default=str))


def main(argv: Sequence[str]) -> int:
    """Runs one benchmark and writes its result; returns the exit status (0 once written).

    Raises:
        SystemExit: For bad arguments.
    """
    if len(argv) != 3:
        raise SystemExit("usage: python -m connector_core.cli.bench_child NAME QUICK OUT")
    name, quick, out = argv[0], argv[1] == "1", Path(argv[2])
    found = [ep for ep in entry_points(group=_GROUP) if ep.name == name]
    if not found:
        _write(out, "unavailable", reason=f"no benchmark registered as {name!r} in {_GROUP}")
        return 0
    start = time.perf_counter()
    try:
        run = found[0].load()
        rows = run(quick)
    except ModuleNotFoundError as exc:
        _write(out, "unavailable", reason=f"not installed: {exc.name} (cannot import it)")
        return 0
    except ChannelSetupError as exc:
        _write(out, "unavailable", reason=str(exc))
        return 0
    except Exception as exc:
        traceback.print_exc()
        _write(out, "failed", reason=f"{type(exc).__name__}: {exc}")
        return 0
    _write(out, "ok", rows=rows, seconds=round(time.perf_counter() - start, 2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
