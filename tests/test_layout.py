"""The shape of the library source: small modules, and core names no backend.

Issue 13's measures, kept: no module under `packages/*/src` is over `MAX_MODULE_LINES`
lines, and connector-core's source never imports or names a backend package.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(ROOT.glob("packages/*/src/**/*.py"))
MAX_MODULE_LINES = 400
BACKEND_PACKAGES = ("connector_zmq", "connector_rabbitmq", "connector_ray", "connector_redis")


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_library_source_is_found() -> None:
    assert any("connector_core" in str(path) for path in SOURCES)


@pytest.mark.parametrize("path", SOURCES, ids=_name)
def test_no_library_module_is_over_the_line_limit(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, (
        f"{_name(path)} has {lines} lines (limit {MAX_MODULE_LINES}): split it where one "
        "part has a reason to change of its own"
    )


@pytest.mark.parametrize("path", [p for p in SOURCES if "/connector-core/" in str(p)], ids=_name)
def test_core_names_no_backend_package(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    named = [package for package in BACKEND_PACKAGES if package in text]
    assert not named, f"{_name(path)} names {named}: backends register themselves instead"
