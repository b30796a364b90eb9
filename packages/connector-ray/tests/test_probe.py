"""connector-ray's checks (entry point `connector.probes`)."""

from __future__ import annotations

from importlib.metadata import entry_points

from connector_core.cli.probes import PROBE_GROUP, ProbeOptions, blocking_problem
from connector_ray.probe import checks


def test_the_checks_are_declared_under_the_probes_entry_points() -> None:
    [ep] = [ep for ep in entry_points(group=PROBE_GROUP) if ep.name == "ray"]
    assert ep.load() is checks


def test_nothing_is_required_before_connecting() -> None:
    assert checks(ProbeOptions(required_only=True)) == []
    assert blocking_problem("ray") is None


def test_the_quick_check_imports_ray_in_a_child_process() -> None:
    [check] = checks(ProbeOptions())
    assert check.what == "Ray"
    assert not check.required
    assert check.probe.ok, check.probe.detail
    assert "imports; `connector doctor --deep` starts a local instance" in check.probe.detail
