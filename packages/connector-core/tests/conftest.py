"""Shared fixtures of core's tests."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

FakeDistribution = Callable[[str, dict[str, dict[str, str]], dict[str, str]], Path]
"""`install(name, entry_points, modules)`: see the `fake_distribution` fixture."""


def _installer(root: Path, imported: list[str]) -> FakeDistribution:
    def install(
        name: str, entry_points: dict[str, dict[str, str]], modules: dict[str, str]
    ) -> Path:
        info = root / f"{name}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        lines = []
        for group, targets in entry_points.items():
            lines.append(f"[{group}]")
            lines.extend(f"{ep} = {target}" for ep, target in targets.items())
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        for module, source in modules.items():
            (root / f"{module}.py").write_text(source)
            imported.append(module)
        return root

    return install


@pytest.fixture
def fake_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeDistribution]:
    """Installs distributions for this test only, as a backend package installs itself.

    `install(name, entry_points, modules)` writes `name-1.0.dist-info` with the entry points
    (group -> {entry point name -> "module:attribute"}) and the modules' sources (module name
    -> source) in a directory put first on `sys.path`: `importlib.metadata` then finds them as
    it finds installed packages. The modules are forgotten after the test.
    """
    imported: list[str] = []
    monkeypatch.syspath_prepend(str(tmp_path))
    yield _installer(tmp_path, imported)
    for module in imported:
        sys.modules.pop(module, None)


@pytest.fixture(scope="module")
def module_fake_distribution(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[FakeDistribution]:
    """`fake_distribution` for every test of a module (for a fixture that runs once)."""
    imported: list[str] = []
    root = tmp_path_factory.mktemp("dists")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.syspath_prepend(str(root))
        yield _installer(root, imported)
    for module in imported:
        sys.modules.pop(module, None)
