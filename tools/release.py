"""Bump one distribution's version and date its changelog.

Each distribution in ``packages/`` has its own static version (``[project] version`` in its
pyproject.toml) and its own CHANGELOG.md. This tool, for one distribution:

1. computes the new version from the current one (``major``, ``minor``, ``patch``) or takes
   an explicit ``X.Y.Z`` that must be greater than the current one;
2. rewrites the ``version = "..."`` line of its pyproject.toml (nothing else in the file
   changes) and the ``__version__`` of its package's ``__init__.py`` if it has one;
3. adds a section ``## X.Y.Z - YYYY-MM-DD`` to its CHANGELOG.md: an ``## Unreleased`` section,
   if present, becomes that section (keeping its entries); ``--note`` adds entries;
4. reports every sibling whose dependency range on this distribution (such as
   ``connector-core>=0.1,<0.2``) does not admit the new version, so that the range can be
   widened and the sibling released too.

It does not commit, tag, build or publish. Bad input (an unknown distribution, a malformed or
non-increasing version, nothing to put in the changelog) exits with status 2 and a message
saying what to do, changing no file.

Usage: ``uv run python tools/release.py DISTRIBUTION {major,minor,patch,X.Y.Z}
[--note TEXT ...] [--date YYYY-MM-DD] [--dry-run]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

__all__ = [
    "Member",
    "Plan",
    "ReleaseError",
    "SiblingRange",
    "bump_version",
    "find_members",
    "main",
    "release",
    "sibling_ranges",
    "update_changelog",
    "write",
]

ROOT = Path(__file__).resolve().parent.parent
BUMPS = ("major", "minor", "patch")
_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
_UNRELEASED = re.compile(r"^##\s+\[?unreleased\]?\s*$", re.IGNORECASE)
_SECTION = re.compile(r"^##\s")
_VERSION_LINE = re.compile(r'^(\s*version\s*=\s*)(["\'])([^"\']*)\2(\s*(#.*)?)$')
_DUNDER_VERSION = re.compile(r'^__version__\s*=\s*(["\'])([^"\']*)\1\s*$', re.MULTILINE)


class ReleaseError(Exception):
    """Bad input or a file this tool cannot safely edit; the message says what to do."""


@dataclass(frozen=True)
class Member:
    """One workspace distribution."""

    name: str
    directory: Path
    version: str | None
    """The static ``[project] version``; None when the version is dynamic or missing."""
    dependencies: tuple[str, ...]

    @property
    def pyproject(self) -> Path:
        """Its pyproject.toml."""
        return self.directory / "pyproject.toml"

    @property
    def changelog(self) -> Path:
        """Its CHANGELOG.md."""
        return self.directory / "CHANGELOG.md"

    @property
    def init_file(self) -> Path:
        """Its package's ``__init__.py`` (which may not exist)."""
        return self.directory / "src" / self.name.replace("-", "_") / "__init__.py"


@dataclass(frozen=True)
class SiblingRange:
    """A sibling's requirement on the released distribution."""

    sibling: str
    requirement: str
    admits: bool
    """Whether the requirement admits the new version."""


def find_members(root: Path) -> dict[str, Member]:
    """Returns the workspace members under ``root/packages`` by canonical name.

    Raises:
        ReleaseError: If a pyproject.toml cannot be parsed or has no name.
    """
    members: dict[str, Member] = {}
    for pyproject in sorted((root / "packages").glob("*/pyproject.toml")):
        try:
            project = tomllib.loads(pyproject.read_text()).get("project", {})
        except tomllib.TOMLDecodeError as exc:
            raise ReleaseError(f"{pyproject} is not valid TOML: {exc}") from exc
        name = project.get("name")
        if not isinstance(name, str):
            raise ReleaseError(f"{pyproject} has no [project] name")
        version = project.get("version")
        if "version" in project.get("dynamic", []) or not isinstance(version, str):
            version = None
        deps = [*project.get("dependencies", [])]
        for extra in project.get("optional-dependencies", {}).values():
            deps.extend(extra)
        members[canonicalize_name(name)] = Member(name, pyproject.parent, version, tuple(deps))
    return members


def bump_version(current: str, bump: str) -> str:
    """Returns the version after `bump`.

    Args:
        current: The current version, ``MAJOR.MINOR.PATCH``.
        bump: ``major``, ``minor``, ``patch`` or an explicit ``MAJOR.MINOR.PATCH`` greater
            than `current`.

    Raises:
        ReleaseError: If either version is malformed or the explicit one is not greater.
    """
    match = _SEMVER.match(current)
    if not match:
        raise ReleaseError(
            f"the current version {current!r} is not MAJOR.MINOR.PATCH; fix it by hand first"
        )
    major, minor, patch = (int(part) for part in match.groups())
    if bump == "major":
        return f"{major + 1}.0.0"
    if bump == "minor":
        return f"{major}.{minor + 1}.0"
    if bump == "patch":
        return f"{major}.{minor}.{patch + 1}"
    if not _SEMVER.match(bump):
        raise ReleaseError(
            f"{bump!r} is neither major, minor or patch nor a version MAJOR.MINOR.PATCH "
            "(like 0.2.0, without a leading v)"
        )
    if Version(bump) <= Version(current):
        raise ReleaseError(f"the new version {bump} must be greater than the current {current}")
    return bump


def _set_pyproject_version(text: str, old: str, new: str) -> str:
    lines = text.splitlines(keepends=True)
    table = None
    hits = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("["):
            table = stripped
            continue
        if table == "[project]" and (match := _VERSION_LINE.match(line.rstrip("\r\n"))):
            hits.append((index, match))
    if len(hits) != 1 or hits[0][1].group(3) != old:
        raise ReleaseError(
            f'expected one line version = "{old}" in the [project] table; edit it by hand'
        )
    index, match = hits[0]
    ending = line_ending(lines[index])
    lines[index] = f"{match.group(1)}{match.group(2)}{new}{match.group(2)}{match.group(4)}{ending}"
    return "".join(lines)


def line_ending(line: str) -> str:
    """Returns the line's ending (``\\r\\n``, ``\\n`` or nothing)."""
    return line[len(line.rstrip("\r\n")) :]


def update_changelog(text: str, version: str, date: dt.date, notes: Sequence[str]) -> str:
    """Returns the changelog with a dated section for `version`.

    An ``## Unreleased`` section becomes ``## <version> - <date>``, keeping its entries, and
    `notes` are appended to it as bullets. Without one, a new section holding `notes` is put
    before the first ``## `` section (or at the end).

    Raises:
        ReleaseError: If `version` already has a section, or there is nothing to put in it.
    """
    lines = text.splitlines()
    for line in lines:
        if _SECTION.match(line) and re.match(
            rf"^##\s+\[?{re.escape(version)}\]?(\s|$)", line.strip()
        ):
            raise ReleaseError(f"CHANGELOG.md already has a section for {version}: {line.strip()}")
    heading = f"## {version} - {date.isoformat()}"
    bullets = [f"- {note.strip()}" for note in notes if note.strip()]
    starts = [i for i, line in enumerate(lines) if _SECTION.match(line)]
    unreleased = next((i for i in starts if _UNRELEASED.match(lines[i].strip())), None)
    if unreleased is not None:
        end = next((i for i in starts if i > unreleased), len(lines))
        body = lines[unreleased + 1 : end]
        while body and not body[-1].strip():
            body.pop()
        if not any(line.strip() for line in body) and not bullets:
            raise ReleaseError(
                "the Unreleased section of CHANGELOG.md is empty: list the changes there "
                "or pass --note"
            )
        section = [heading, *body, *bullets] if body else [heading, "", *bullets]
        new_lines = [*lines[:unreleased], *section, "", *lines[end:]]
    else:
        if not bullets:
            raise ReleaseError(
                "CHANGELOG.md has no '## Unreleased' section: add one listing the changes, "
                "or pass --note 'what changed' (repeatable)"
            )
        at = starts[0] if starts else len(lines)
        before = lines[:at]
        while before and not before[-1].strip():
            before.pop()
        new_lines = [*before, "", heading, "", *bullets, "", *lines[at:]]
    while new_lines and not new_lines[-1].strip():
        new_lines.pop()
    return "\n".join(new_lines) + "\n"


def sibling_ranges(members: dict[str, Member], name: str, version: str) -> list[SiblingRange]:
    """Returns every other member's requirement on `name`, and whether it admits `version`.

    Raises:
        ReleaseError: If a sibling's requirement cannot be parsed.
    """
    target = canonicalize_name(name)
    found = []
    for key, member in sorted(members.items()):
        if key == target:
            continue
        for dependency in member.dependencies:
            try:
                requirement = Requirement(dependency)
            except InvalidRequirement as exc:
                raise ReleaseError(f"{member.pyproject}: bad requirement {dependency!r}") from exc
            if canonicalize_name(requirement.name) == target:
                admits = requirement.specifier.contains(version, prereleases=True)
                found.append(SiblingRange(member.name, dependency, admits))
    return found


@dataclass(frozen=True)
class Plan:
    """The edits one release makes."""

    member: Member
    new_version: str
    files: dict[Path, str]
    """New content by file."""
    siblings: list[SiblingRange]


def release(root: Path, name: str, bump: str, date: dt.date, notes: Sequence[str] = ()) -> Plan:
    """Works out every edit for releasing `name`, without writing anything.

    Args:
        root: The workspace root (holding ``packages/``).
        name: The distribution, such as ``connector-core``.
        bump: ``major``, ``minor``, ``patch`` or an explicit version.
        date: The release date for the changelog.
        notes: Entries to add to the changelog section.

    Returns:
        The plan; `write()` applies it.

    Raises:
        ReleaseError: For bad input or a file this tool cannot safely edit.
    """
    members = find_members(root)
    member = members.get(canonicalize_name(name))
    if member is None:
        known = ", ".join(m.name for m in members.values()) or "none"
        raise ReleaseError(f"no distribution named {name!r} in {root / 'packages'}; known: {known}")
    if member.version is None:
        raise ReleaseError(
            f"{member.pyproject} has no static [project] version (dynamic or missing); "
            "this tool bumps static versions only"
        )
    old = member.version
    new = bump_version(old, bump)
    files = {member.pyproject: _set_pyproject_version(member.pyproject.read_text(), old, new)}
    if tomllib.loads(files[member.pyproject])["project"]["version"] != new:
        raise ReleaseError(f"could not rewrite the version in {member.pyproject}; edit it by hand")
    if member.init_file.is_file():
        init_text = member.init_file.read_text()
        match = _DUNDER_VERSION.search(init_text)
        if match:
            if match.group(2) != old:
                raise ReleaseError(
                    f"{member.init_file} says __version__ = {match.group(2)!r} but "
                    f"{member.pyproject.name} says {old!r}: make them agree first"
                )
            quote = match.group(1)
            files[member.init_file] = (
                init_text[: match.start()]
                + f"__version__ = {quote}{new}{quote}"
                + init_text[match.end() :]
            )
    if not member.changelog.is_file():
        raise ReleaseError(f"{member.changelog} does not exist: create it with a title line")
    files[member.changelog] = update_changelog(member.changelog.read_text(), new, date, notes)
    return Plan(member, new, files, sibling_ranges(members, member.name, new))


def write(plan: Plan) -> None:
    """Writes the plan's files."""
    for path, text in plan.files.items():
        path.write_text(text)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date YYYY-MM-DD") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the release helper from the command line.

    Args:
        argv: Command-line arguments (default: `sys.argv[1:]`).

    Returns:
        0 on success (also when a sibling range needs widening: that is reported), 2 for bad
        input.
    """
    parser = argparse.ArgumentParser(
        description="Bump one distribution's version and date its changelog."
    )
    parser.add_argument("distribution", help="for example connector-core")
    parser.add_argument("bump", help="major, minor, patch, or an explicit MAJOR.MINOR.PATCH")
    parser.add_argument(
        "--note", action="append", default=[], help="a changelog entry (repeatable)"
    )
    parser.add_argument(
        "--date", type=_date, default=dt.datetime.now(dt.UTC).date(), help="default: today (UTC)"
    )
    parser.add_argument("--dry-run", action="store_true", help="show the changes, write nothing")
    parser.add_argument("--root", type=Path, default=ROOT, help="workspace root (default: this)")
    args = parser.parse_args(argv)
    try:
        root = args.root.resolve()
        plan = release(root, args.distribution, args.bump, args.date, args.note)
    except ReleaseError as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 2
    member = plan.member
    verb = "would update" if args.dry_run else "updated"
    print(f"{member.name} {member.version} -> {plan.new_version}")
    for path in plan.files:
        print(f"  {verb} {path.relative_to(root)}")
    if not args.dry_run:
        write(plan)
    for sibling in plan.siblings:
        if sibling.admits:
            print(f"  {sibling.sibling}: {sibling.requirement} admits {plan.new_version}")
        else:
            print(
                f"  WARNING {sibling.sibling}: {sibling.requirement} does not admit "
                f"{plan.new_version}; widen that range in {sibling.sibling}'s pyproject.toml "
                "and release it too"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
