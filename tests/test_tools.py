"""Tests of the developer tools in `tools/`: release helper, isolation check, benchmarks.

The release helper works on a temporary workspace (a synthetic one, and a copy of the real
members' files); nothing here edits the repository.
"""

from __future__ import annotations

import datetime as dt
import shutil
import textwrap
import tomllib
from pathlib import Path

import pytest
from tools import bench, bench_asyncio, check_isolation, release

from connector_core import ConnectorMode

ROOT = Path(__file__).resolve().parent.parent
DATE = dt.date(2026, 11, 25)

CORE_PYPROJECT = """\
[project]
name = "connector-core"
version = "0.1.0"  # static, bumped by tools/release.py
dependencies = ["pydantic>=2.6,<3"]

[tool.example]
version = "9.9.9"
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


def _member(root: Path, dist: str, pyproject: str, changelog: str, init: str | None) -> Path:
    directory = root / "packages" / dist
    package = directory / "src" / dist.replace("-", "_")
    package.mkdir(parents=True)
    (directory / "pyproject.toml").write_text(pyproject)
    (directory / "CHANGELOG.md").write_text(changelog)
    if init is not None:
        (package / "__init__.py").write_text(init)
    return directory


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    _member(
        tmp_path,
        "connector-core",
        CORE_PYPROJECT,
        CHANGELOG,
        '"""Core."""\n\n__version__ = "0.1.0"\n\n__all__ = ["x"]\n',
    )
    _member(
        tmp_path,
        "connector-zmq",
        ZMQ_PYPROJECT,
        CHANGELOG.replace("core", "zmq").replace("0.1.0", "0.3.2"),
        None,
    )
    return tmp_path


def _core(root: Path) -> Path:
    return root / "packages" / "connector-core"


def _release(root: Path, *args: str) -> int:
    return release.main([*args, "--root", str(root), "--date", DATE.isoformat()])


def _project_version(directory: Path) -> str:
    version = tomllib.loads((directory / "pyproject.toml").read_text())["project"]["version"]
    assert isinstance(version, str)
    return version


# -- tools/release.py ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bump", "expected"),
    [("patch", "0.1.1"), ("minor", "0.2.0"), ("major", "1.0.0"), ("0.4.0", "0.4.0")],
)
def test_bump_version_computes_the_next_version(bump: str, expected: str) -> None:
    assert release.bump_version("0.1.0", bump) == expected


@pytest.mark.parametrize("bump", ["0.1", "v0.2.0", "0.2.0rc1", "banana", "01.2.3", ""])
def test_bump_version_refuses_a_malformed_version(bump: str) -> None:
    with pytest.raises(release.ReleaseError, match="MAJOR.MINOR.PATCH"):
        release.bump_version("0.1.0", bump)


@pytest.mark.parametrize("bump", ["0.1.0", "0.0.9"])
def test_bump_version_refuses_a_version_that_does_not_increase(bump: str) -> None:
    with pytest.raises(release.ReleaseError, match="must be greater than the current 0.1.0"):
        release.bump_version("0.1.0", bump)


def test_release_rewrites_only_the_project_version_line(workspace: Path) -> None:
    assert _release(workspace, "connector-core", "patch", "--note", "Fix a thing.") == 0
    text = (_core(workspace) / "pyproject.toml").read_text()
    assert text == CORE_PYPROJECT.replace(
        'version = "0.1.0"  # static', 'version = "0.1.1"  # static'
    )


def test_release_updates_the_package_dunder_version(workspace: Path) -> None:
    _release(workspace, "connector-core", "minor", "--note", "Add a thing.")
    init = (_core(workspace) / "src" / "connector_core" / "__init__.py").read_text()
    assert '__version__ = "0.2.0"' in init


def test_release_adds_a_dated_section_with_the_notes(workspace: Path) -> None:
    _release(workspace, "connector-core", "patch", "--note", "Fix a.", "--note", "Fix b.")
    changelog = (_core(workspace) / "CHANGELOG.md").read_text()
    assert changelog == (
        "# Changelog: connector-core\n\n## 0.1.1 - 2026-11-25\n\n- Fix a.\n- Fix b.\n\n"
        "## 0.1.0\n\n- First release.\n"
    )


def test_release_turns_the_unreleased_section_into_the_dated_one(workspace: Path) -> None:
    changelog = _core(workspace) / "CHANGELOG.md"
    changelog.write_text(
        CHANGELOG.replace("## 0.1.0", "## Unreleased\n\n- Faster pubsub.\n\n## 0.1.0")
    )
    assert _release(workspace, "connector-core", "minor") == 0
    assert changelog.read_text() == (
        "# Changelog: connector-core\n\n## 0.2.0 - 2026-11-25\n\n- Faster pubsub.\n\n"
        "## 0.1.0\n\n- First release.\n"
    )


def test_release_refuses_an_empty_unreleased_section_without_notes(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changelog = _core(workspace) / "CHANGELOG.md"
    changelog.write_text(CHANGELOG.replace("## 0.1.0", "## Unreleased\n\n## 0.1.0"))
    assert _release(workspace, "connector-core", "patch") == 2
    assert "Unreleased section of CHANGELOG.md is empty" in capsys.readouterr().err


def test_release_refuses_to_release_nothing(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _release(workspace, "connector-core", "patch") == 2
    assert "pass --note" in capsys.readouterr().err
    assert _project_version(_core(workspace)) == "0.1.0"


def test_release_refuses_a_version_the_changelog_already_has(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changelog = _core(workspace) / "CHANGELOG.md"
    changelog.write_text(CHANGELOG.replace("## 0.1.0", "## 0.1.1 - 2026-01-01\n\n- x\n\n## 0.1.0"))
    assert _release(workspace, "connector-core", "patch", "--note", "y") == 2
    assert "already has a section for 0.1.1" in capsys.readouterr().err


def test_release_refuses_an_unknown_distribution_and_lists_the_known(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _release(workspace, "connector-kafka", "patch", "--note", "x") == 2
    err = capsys.readouterr().err
    assert "no distribution named 'connector-kafka'" in err
    assert "connector-core, connector-zmq" in err


def test_release_refuses_a_dynamic_version(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pyproject = _core(workspace) / "pyproject.toml"
    pyproject.write_text('[project]\nname = "connector-core"\ndynamic = ["version"]\n')
    assert _release(workspace, "connector-core", "patch", "--note", "x") == 2
    assert "no static [project] version" in capsys.readouterr().err


def test_release_refuses_a_dunder_version_that_disagrees(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    init = _core(workspace) / "src" / "connector_core" / "__init__.py"
    init.write_text('__version__ = "0.0.9"\n')
    assert _release(workspace, "connector-core", "patch", "--note", "x") == 2
    assert "make them agree first" in capsys.readouterr().err
    assert _project_version(_core(workspace)) == "0.1.0"


def test_release_refuses_a_bad_date(workspace: Path) -> None:
    with pytest.raises(SystemExit) as exc_info:
        release.main(["connector-core", "patch", "--root", str(workspace), "--date", "25/11/2026"])
    assert exc_info.value.code == 2


def test_dry_run_writes_nothing(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = {p: p.read_text() for p in workspace.rglob("*") if p.is_file()}
    assert _release(workspace, "connector-core", "major", "--note", "x", "--dry-run") == 0
    assert {p: p.read_text() for p in workspace.rglob("*") if p.is_file()} == before
    assert "connector-core 0.1.0 -> 1.0.0" in capsys.readouterr().out


def test_core_bump_outside_a_sibling_range_is_reported(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _release(workspace, "connector-core", "minor", "--note", "x") == 0
    out = capsys.readouterr().out
    assert "WARNING connector-zmq: connector-core>=0.1,<0.2 does not admit 0.2.0" in out


def test_core_bump_inside_the_sibling_ranges_warns_nothing(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _release(workspace, "connector-core", "patch", "--note", "x") == 0
    out = capsys.readouterr().out
    assert "connector-zmq: connector-core>=0.1,<0.2 admits 0.1.1" in out
    assert "WARNING" not in out


def test_release_of_a_backend_leaves_core_alone(workspace: Path) -> None:
    assert _release(workspace, "connector-zmq", "patch", "--note", "x") == 0
    assert _project_version(workspace / "packages" / "connector-zmq") == "0.3.3"
    assert _project_version(_core(workspace)) == "0.1.0"


def test_release_handles_every_real_member(tmp_path: Path) -> None:
    """A patch release of each real member, on a copy of its files, bumps it consistently."""
    for member in sorted((ROOT / "packages").glob("*/pyproject.toml")):
        source = member.parent
        copy = tmp_path / "packages" / source.name
        copy.mkdir(parents=True)
        for name in ("pyproject.toml", "CHANGELOG.md"):
            shutil.copy(source / name, copy / name)
        package = source.name.replace("-", "_")
        if (source / "src" / package / "__init__.py").is_file():
            (copy / "src" / package).mkdir(parents=True)
            shutil.copy(source / "src" / package / "__init__.py", copy / "src" / package)
    for copy in sorted((tmp_path / "packages").iterdir()):
        old = _project_version(copy)
        expected = release.bump_version(old, "patch")
        assert _release(tmp_path, copy.name, "patch", "--note", "Test release.") == 0
        assert _project_version(copy) == expected
        assert f"## {expected} - {DATE.isoformat()}" in (copy / "CHANGELOG.md").read_text()
        init = copy / "src" / copy.name.replace("-", "_") / "__init__.py"
        if init.is_file() and "__version__" in init.read_text():
            assert f'__version__ = "{expected}"' in init.read_text()


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


# -- tools/bench.py and tools/bench_asyncio.py --------------------------------------------------


def _bench_module(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"bench_{name}.py"
    path.write_text(textwrap.dedent(body))
    return path


def test_bench_reports_a_module_whose_backend_is_missing(tmp_path: Path) -> None:
    path = _bench_module(tmp_path, "nothing", "import connector_nothing_here\n")
    result = bench.run_module(path, quick=True, timeout=60)
    assert result.status == "unavailable"
    assert result.rows[0]["note"] == (
        "not installed: connector_nothing_here (cannot import 'connector_nothing_here')"
    )


def test_bench_reports_a_module_that_raises(tmp_path: Path) -> None:
    body = "def run(quick):\n    raise RuntimeError('broker down')\n"
    result = bench.run_module(_bench_module(tmp_path, "broken", body), quick=True, timeout=60)
    assert result.status == "failed"
    assert result.rows[0]["note"] == "RuntimeError: broker down"


def test_bench_rejects_rows_without_the_contract_keys(tmp_path: Path) -> None:
    body = "def run(quick):\n    return [{'backend': 'x'}]\n"
    result = bench.run_module(_bench_module(tmp_path, "partial", body), quick=True, timeout=60)
    assert result.status == "failed"
    assert "lacks" in str(result.rows[0]["note"])


def test_bench_passes_quick_and_returns_the_rows(tmp_path: Path) -> None:
    keys = ", ".join(f"{key!r}: None" for key in bench.ROW_KEYS)
    body = f"def run(quick):\n    return [{{{keys}, 'scenario': str(quick)}}]\n"
    result = bench.run_module(_bench_module(tmp_path, "echo", body), quick=True, timeout=60)
    assert result.status == "ok"
    assert result.rows[0]["scenario"] == "True"


def test_bench_table_notes_whether_a_row_meets_its_target() -> None:
    row: dict[str, object] = {key: None for key in bench.ROW_KEYS}
    table = bench.format_table([{**row, "ratio": 0.4, "target": 0.5}, {**row, "ratio": 0.6}])
    lines = table.splitlines()
    assert lines[1].endswith("target >= 0.5x: BELOW TARGET")
    assert lines[2].endswith("-")


def test_bench_discovers_the_asyncio_benchmark() -> None:
    assert ROOT / "tools" / "bench_asyncio.py" in bench.discover()


async def test_asyncio_bench_pipeline_delivers_every_message() -> None:
    assert await bench_asyncio._channel_pipeline(500) > 0


async def test_asyncio_bench_pubsub_delivers_every_message_to_every_subscriber() -> None:
    assert await bench_asyncio._channel_pubsub(500) > 0


async def test_asyncio_bench_latency_gives_one_sample_per_delivery() -> None:
    samples = await bench_asyncio._channel_latency(ConnectorMode.PUBSUB, 4, 50)
    assert len(samples) == 200
    assert min(samples) >= 0
