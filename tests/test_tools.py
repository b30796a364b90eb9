"""Tests of the developer tools in `tools/` (release helper, isolation check) and versions.

The release helper works on a temporary workspace (a synthetic one, and a copy of the real
members' files); nothing here edits the repository.
"""

from __future__ import annotations

import ast
import datetime as dt
import importlib
import importlib.metadata
import shutil
import tomllib
from pathlib import Path

import pytest
from tools import check_isolation, release

ROOT = Path(__file__).resolve().parent.parent
DATE = dt.date(2026, 11, 25)

CORE_PYPROJECT = """\
[project]
name = "connector-core"
version = "0.1.1"  # bumped by uv version
dependencies = ["pydantic>=2.6,<3"]
"""

ZMQ_PYPROJECT = """\
[project]
name = "connector-zmq"
version = "0.3.2"
dependencies = ["connector-core>=0.1,<0.2", "pyzmq>=26,<28"]
"""

CHANGELOG = """\
# Changelog: connector-core

## 0.1.0

- First release.
"""

PACKAGES = ("connector-core", "connector-zmq", "connector-rabbitmq", "connector-ray")


def _member(root: Path, dist: str, pyproject: str, changelog: str) -> Path:
    directory = root / "packages" / dist
    directory.mkdir(parents=True)
    (directory / "pyproject.toml").write_text(pyproject)
    (directory / "CHANGELOG.md").write_text(changelog)
    return directory


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    _member(tmp_path, "connector-core", CORE_PYPROJECT, CHANGELOG)
    _member(tmp_path, "connector-zmq", ZMQ_PYPROJECT, CHANGELOG.replace("core", "zmq"))
    return tmp_path


def _core(root: Path) -> Path:
    return root / "packages" / "connector-core"


def _release(root: Path, *args: str) -> int:
    return release.main([*args, "--root", str(root), "--date", DATE.isoformat()])


# -- versions and tools/release.py --------------------------------------------------------------


@pytest.mark.parametrize("dist", PACKAGES)
def test_package_version_comes_from_the_installed_metadata(dist: str) -> None:
    init = ROOT / "packages" / dist / "src" / dist.replace("-", "_") / "__init__.py"
    assigned = [
        node.value
        for node in ast.walk(ast.parse(init.read_text()))
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets)
    ]
    assert [ast.unparse(value) for value in assigned] == [f"importlib.metadata.version({dist!r})"]
    module = importlib.import_module(dist.replace("-", "_"))
    assert module.__version__ == importlib.metadata.version(dist)


def test_release_dates_the_unreleased_section_with_the_pyproject_version(
    workspace: Path,
) -> None:
    changelog = _core(workspace) / "CHANGELOG.md"
    changelog.write_text(
        CHANGELOG.replace("## 0.1.0", "## Unreleased\n\n- Faster pubsub.\n\n## 0.1.0")
    )
    assert _release(workspace, "connector-core") == 0
    assert changelog.read_text() == (
        "# Changelog: connector-core\n\n## 0.1.1 - 2026-11-25\n\n- Faster pubsub.\n\n"
        "## 0.1.0\n\n- First release.\n"
    )


def test_release_adds_a_dated_section_with_the_notes(workspace: Path) -> None:
    _release(workspace, "connector-core", "--note", "Fix a.", "--note", "Fix b.")
    changelog = (_core(workspace) / "CHANGELOG.md").read_text()
    assert changelog == (
        "# Changelog: connector-core\n\n## 0.1.1 - 2026-11-25\n\n- Fix a.\n- Fix b.\n\n"
        "## 0.1.0\n\n- First release.\n"
    )


def test_release_dates_an_explicit_version(workspace: Path) -> None:
    assert _release(workspace, "connector-core", "--version", "0.2.0", "--note", "x") == 0
    assert "## 0.2.0 - 2026-11-25" in (_core(workspace) / "CHANGELOG.md").read_text()


def test_release_leaves_the_pyproject_to_uv(workspace: Path) -> None:
    assert _release(workspace, "connector-core", "--note", "x") == 0
    assert (_core(workspace) / "pyproject.toml").read_text() == CORE_PYPROJECT


def test_release_refuses_an_empty_unreleased_section_without_notes(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changelog = _core(workspace) / "CHANGELOG.md"
    changelog.write_text(CHANGELOG.replace("## 0.1.0", "## Unreleased\n\n## 0.1.0"))
    assert _release(workspace, "connector-core") == 2
    assert "Unreleased section of CHANGELOG.md is empty" in capsys.readouterr().err


def test_release_refuses_to_release_nothing(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _release(workspace, "connector-core") == 2
    assert "pass --note" in capsys.readouterr().err
    assert (_core(workspace) / "CHANGELOG.md").read_text() == CHANGELOG


def test_release_refuses_a_version_the_changelog_already_has(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changelog = _core(workspace) / "CHANGELOG.md"
    changelog.write_text(CHANGELOG.replace("## 0.1.0", "## 0.1.1 - 2026-01-01\n\n- x\n\n## 0.1.0"))
    assert _release(workspace, "connector-core", "--note", "y") == 2
    assert "already has a section for 0.1.1" in capsys.readouterr().err


def test_release_refuses_an_unknown_distribution_and_lists_the_known(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _release(workspace, "connector-kafka", "--note", "x") == 2
    err = capsys.readouterr().err
    assert "no distribution named 'connector-kafka'" in err
    assert "connector-core, connector-zmq" in err


def test_release_refuses_a_dynamic_version(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pyproject = _core(workspace) / "pyproject.toml"
    pyproject.write_text('[project]\nname = "connector-core"\ndynamic = ["version"]\n')
    assert _release(workspace, "connector-core", "--note", "x") == 2
    assert "no static [project] version" in capsys.readouterr().err


def test_release_refuses_a_bad_date(workspace: Path) -> None:
    with pytest.raises(SystemExit) as exc_info:
        release.main(["connector-core", "--root", str(workspace), "--date", "25/11/2026"])
    assert exc_info.value.code == 2


def test_release_handles_every_real_member(tmp_path: Path) -> None:
    """Each real member's changelog, on a copy, gets a section for its pyproject version."""
    for dist in PACKAGES:
        copy = tmp_path / "packages" / dist
        copy.mkdir(parents=True)
        for name in ("pyproject.toml", "CHANGELOG.md"):
            shutil.copy(ROOT / "packages" / dist / name, copy / name)
        version = tomllib.loads((copy / "pyproject.toml").read_text())["project"]["version"]
        later = f"{version}.post1"
        assert _release(tmp_path, dist, "--version", later, "--note", "Test release.") == 0
        assert f"## {later} - {DATE.isoformat()}" in (copy / "CHANGELOG.md").read_text()


def test_update_changelog_without_sections_appends_one() -> None:
    text = release.update_changelog("# Changelog\n", "0.1.0", DATE, ["First."])
    assert text == "# Changelog\n\n## 0.1.0 - 2026-11-25\n\n- First.\n"


# -- tools/check_isolation.py -------------------------------------------------------------------


def _probe(**changes: object) -> check_isolation.Probe:
    probe: check_isolation.Probe = {
        "installed": {},
        "connectors": ["connector-core"],
        "loaded": [],
        "entry_points": {"asyncio": "ok"},
        "error": None,
        "version": "0.1.0",
    }
    probe.update(changes)  # type: ignore[typeddict-item]
    return probe


def _judge(dist_name: str, probe: check_isolation.Probe) -> check_isolation.Outcome:
    dist = check_isolation.find_distributions(ROOT)[dist_name]
    outcome = check_isolation.Outcome(dist_name)
    check_isolation.judge(dist, probe, outcome)
    return outcome


def test_find_distributions_lists_core_with_its_entry_point() -> None:
    core = check_isolation.find_distributions(ROOT)["connector-core"]
    assert core.import_name == "connector_core"
    assert core.entry_points == ("asyncio",)
    assert core.has_source


def test_isolation_passes_core_alone() -> None:
    outcome = _judge("connector-core", _probe())
    assert (outcome.status, outcome.problems) == ("ok", [])


def test_isolation_fails_core_with_a_transport_installed() -> None:
    outcome = _judge("connector-core", _probe(installed={"pyzmq": "27.0.0"}))
    assert outcome.status == "FAIL"
    assert outcome.problems == ["other transports came along: pyzmq"]


def test_isolation_fails_core_that_imports_a_transport() -> None:
    outcome = _judge("connector-core", _probe(loaded=["ray"]))
    assert outcome.problems == ["importing connector_core imported other transports: ray"]


def test_isolation_fails_a_backend_that_brings_another_backend() -> None:
    probe = _probe(
        installed={"pyzmq": "27.0.0", "aio-pika": "9.5.0"},
        connectors=["connector-core", "connector-rabbitmq", "connector-zmq"],
        entry_points={"asyncio": "ok", "zmq": "ok", "rabbitmq": "ok"},
        loaded=["zmq"],
    )
    outcome = _judge("connector-zmq", probe)
    assert outcome.problems == [
        "other transports came along: aio-pika",
        "other connector distributions came along: connector-rabbitmq",
    ]


def test_isolation_fails_a_backend_without_its_transport_or_entry_point() -> None:
    outcome = _judge("connector-ray", _probe(connectors=["connector-core", "connector-ray"]))
    assert outcome.problems == [
        "its own transport is not installed: ray",
        "entry points missing from connector.backends: ray",
    ]


def test_isolation_fails_an_entry_point_that_does_not_load() -> None:
    probe = _probe(entry_points={"asyncio": "ImportError: boom"})
    outcome = _judge("connector-core", probe)
    assert outcome.problems == ["entry point 'asyncio' does not resolve: ImportError: boom"]


def test_isolation_fails_a_package_that_does_not_import() -> None:
    outcome = _judge("connector-core", _probe(error="ImportError: no pydantic"))
    assert outcome.problems == ["import connector_core failed: ImportError: no pydantic"]


def test_isolation_refuses_an_unknown_package(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc_info:
        check_isolation.main(["--package", "connector-kafka"])
    assert exc_info.value.code == 2
    assert "unknown distribution connector-kafka" in capsys.readouterr().err
