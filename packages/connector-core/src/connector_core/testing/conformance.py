"""`ConnectorConformance`: the suite every backend runs, and its override guard.

A backend subclasses it in `tests/test_conformance.py`, names its connector class and sets
the feature flags (see `ConformanceBase`); pytest then runs every standard test against it.
A subclass that redefines or removes a standard test must mark the redefinition
`@pytest.mark.xfail(reason=...)`, or the class fails at import with `TypeError`.
"""

from __future__ import annotations

from typing import Any

from connector_core.testing.suite_api import ApiTests
from connector_core.testing.suite_batch import BatchTests
from connector_core.testing.suite_close import CloseTests
from connector_core.testing.suite_delivery import DeliveryTests
from connector_core.testing.suite_flow import FlowTests
from connector_core.testing.suite_loops import LoopTests
from connector_core.testing.suite_process import ProcessTests
from connector_core.testing.suite_serde import SerdeTests
from connector_core.testing.suite_size import SizeLimitTests

__all__ = ["ConnectorConformance", "standard_tests"]


class ConnectorConformance(
    ApiTests,
    DeliveryTests,
    BatchTests,
    CloseTests,
    FlowTests,
    LoopTests,
    SerdeTests,
    SizeLimitTests,
    ProcessTests,
):
    """The conformance suite: subclass as `Test<Backend>Conformance` and set the flags."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        standard = standard_tests()
        for name, value in vars(cls).items():
            if name in standard and not _xfailed_with_reason(value):
                raise TypeError(
                    f"{cls.__name__}.{name} replaces a standard conformance test. Keep the "
                    "standard test, or mark the replacement "
                    "@pytest.mark.xfail(reason='why this backend cannot pass it')."
                )


def standard_tests() -> frozenset[str]:
    """Returns the names of every standard conformance test."""
    return frozenset(name for name in dir(ConnectorConformance) if name.startswith("test_"))


def _xfailed_with_reason(value: Any) -> bool:
    marks = getattr(value, "pytestmark", [])
    return any(mark.name == "xfail" and mark.kwargs.get("reason") for mark in marks)
