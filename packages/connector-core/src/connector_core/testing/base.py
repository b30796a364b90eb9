"""The fixtures and feature flags every part of the conformance suite shares."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from connector_core.channel import CHAN_MAXSIZE
from connector_core.connector import Connector
from connector_core.spec import ConnectorMode, ConnectorSpec
from connector_core.testing.harness import ConnectorFactory, Harness

__all__ = ["ConformanceBase"]


class ConformanceBase:
    """Feature flags and fixtures; a backend sets the flags on its subclass."""

    connector_class: ClassVar[type[Connector]]
    """The connector class under test (used by the default `connector_factory`)."""
    modes: ClassVar[tuple[ConnectorMode, ...]] = (ConnectorMode.PIPELINE, ConnectorMode.PUBSUB)
    """The modes the backend supports; tests of other modes skip."""
    cross_process: ClassVar[bool] = False
    """True when a pickled connector connects processes (runs the spawn tests)."""
    serialized: ClassVar[bool] = False
    """True when channels are `SerdeChannel`s (runs the serializer and signature tests)."""
    backpressure_slack: ClassVar[int] = 0
    """Items the transport may hold beyond `maxsize` while a receiver is stalled."""
    backpressure_item_size: ClassVar[int] = 16 * 1024
    """Bytes of payload per item in the backpressure tests (large, to defeat OS buffers)."""
    stall_window: ClassVar[float] = 1.0
    """Seconds a blocked sender is watched to confirm it stays blocked."""
    default_maxsize: ClassVar[int] = CHAN_MAXSIZE
    """`maxsize` of connectors a test does not size itself."""
    largest_item: ClassVar[int | None] = None
    """The largest item, in bytes serialized and signed, that the connectors of
    `size_limited_factory` accept (None: no limit; the size-limit tests skip)."""
    size_limit_name: ClassVar[str] = ""
    """What the error for an item over `largest_item` names as the limit (a setting, or a
    constant of the backend), so that the user knows what bounds it."""

    @pytest.fixture
    def connector_kwargs(self) -> dict[str, Any]:
        """Extra keyword arguments for `connector_class(spec, maxsize=..., **kwargs)`."""
        return {}

    @pytest.fixture
    def connector_factory(self, connector_kwargs: dict[str, Any]) -> ConnectorFactory:
        """Returns `make(spec, maxsize) -> Connector`.

        Override it (as a generator fixture) to add teardown after the yield.

        Args:
            connector_kwargs: The `connector_kwargs` fixture, passed to every connector.
        """
        cls = self.connector_class

        def make(spec: ConnectorSpec, maxsize: int) -> Connector:
            return cls(spec, maxsize=maxsize, **connector_kwargs)

        return make

    @pytest.fixture
    def size_limited_factory(self, connector_factory: ConnectorFactory) -> ConnectorFactory:
        """Returns `make(spec, maxsize)` for connectors whose largest item is `largest_item`.

        `connector_factory` by default: the backend's own limit. A backend whose limit is
        set (or too large to send in a test) overrides it to lower the limit to
        `largest_item`.

        Args:
            connector_factory: The `connector_factory` fixture.
        """
        return connector_factory

    @pytest.fixture(
        params=[ConnectorMode.PIPELINE, ConnectorMode.PUBSUB], ids=lambda mode: mode.value
    )
    def mode(self, request: pytest.FixtureRequest) -> ConnectorMode:
        """Each supported mode in turn.

        Args:
            request: pytest's request; its `param` is the mode.
        """
        mode: ConnectorMode = request.param
        if mode not in self.modes:
            pytest.skip(f"{type(self).__name__} does not support {mode.value} mode")
        return mode

    def require_mode(self, mode: ConnectorMode) -> None:
        """Skips the test when the backend does not support `mode`.

        Args:
            mode: The mode the test needs.
        """
        if mode not in self.modes:
            pytest.skip(f"{type(self).__name__} does not support {mode.value} mode")

    def harness(self, make: ConnectorFactory) -> Harness:
        """Returns the harness for one test: `async with self.harness(factory) as h:`.

        Args:
            make: The `connector_factory` fixture.
        """
        return Harness(make, self.default_maxsize)
