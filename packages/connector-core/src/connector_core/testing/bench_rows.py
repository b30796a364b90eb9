"""Checks of a `connector bench` row in a backend's tests, which never assert timing."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["assert_measured"]


def assert_measured(row: Mapping[str, object]) -> None:
    """Asserts that `row` holds both rates and their ratio, each a positive float.

    Args:
        row: One row of a backend's `bench.run()`.
    """
    for key in ("msgs_per_s", "baseline_msgs_per_s", "ratio"):
        value = row[key]
        assert isinstance(value, float), key
        assert value > 0, key
