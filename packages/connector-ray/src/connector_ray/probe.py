"""connector-ray's checks for `connector doctor` (entry point `connector.probes`).

Ray is checked in a child process, so that a broken installation cannot take the command
down with it: that it imports and, with `connector doctor --deep`, that it starts (a local
instance, or the cluster at `CONNECTOR_RAY_ADDRESS`) and stops. Nothing is required before
connecting: a local instance starts on first use.

`TRAITS` (entry point `connector.traits`) tells the `connector` tools where the backend ranks
and that it needs no service.
"""

from __future__ import annotations

import subprocess
import sys

from connector_core.cli.probes import Check, Probe, ProbeOptions
from connector_core.registry import BackendTraits
from connector_ray.settings import RaySettings

__all__ = ["TRAITS", "checks", "probe_ray"]

TRAITS = BackendTraits(rank=30)
"""Crosses processes and needs no service (a local Ray instance starts on first use, in tens
of seconds), so the demo runs it when the backends ranked before it cannot be used."""

_RAY_IMPORT = "import ray; print(ray.__version__)"
_RAY_START = (
    "import sys, ray; address = sys.argv[1] or None\n"
    "ray.init(address=address, include_dashboard=False, log_to_driver=False)\n"
    "print(ray.__version__, ray.cluster_resources().get('CPU', 0))\n"
    "ray.shutdown()\n"
)


def probe_ray(start: bool, address: str | None, timeout: float = 90.0) -> Probe:
    """Checks that Ray imports, and with `start` that it can start, in a child process.

    Args:
        start: Also call `ray.init()` (a local instance, or `address`) and shut it down.
        address: The cluster to join with `start` (`CONNECTOR_RAY_ADDRESS`), or None.
        timeout: Seconds before the child is killed and the check fails.

    Returns:
        Whether Ray imports (and starts), with its version or what went wrong.
    """
    code = _RAY_START if start else _RAY_IMPORT
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, address or ""],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Probe(False, f"Ray did not {'start' if start else 'import'} within {timeout:g}s")
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return Probe(False, f"Ray {'failed to start' if start else 'does not import'}: {last}")
    fields = proc.stdout.split()
    if start:
        cpus = fields[1] if len(fields) > 1 else "?"
        target = address or "a local instance"
        return Probe(True, f"ray {fields[0]}: started {target} ({cpus} CPUs) and shut it down")
    return Probe(
        True,
        f"ray {fields[0] if fields else '?'} imports; `connector doctor --deep` starts a "
        "local instance to prove it runs (about 10-30 s)",
    )


def checks(options: ProbeOptions) -> list[Check]:
    """Checks that Ray imports (and with `options.deep`, that it starts and stops).

    Args:
        options: `deep` also starts Ray; `required_only` skips the check (nothing is
            required before connecting).

    Returns:
        One informative check, or none with `required_only`.

    Raises:
        pydantic.ValidationError: If the settings in the environment are invalid.
    """
    if options.required_only:
        return []
    address = RaySettings().address
    return [Check("Ray", probe_ray(start=options.deep, address=address))]
