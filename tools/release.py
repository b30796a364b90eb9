"""Date one distribution's changelog for a release; `uv version` bumps the version.

A release of one distribution (``make release PACKAGE=connector-zmq BUMP=patch`` does both):

1. ``uv version --package connector-zmq --bump patch`` rewrites the version in its
   pyproject.toml (``__version__`` comes from the installed metadata, so nothing else changes);
2. ``uv run python tools/release.py connector-zmq`` turns the ``## Unreleased`` section of its
   CHANGELOG.md into ``## X.Y.Z - YYYY-MM-DD`` (the version now in pyproject.toml, today's
   date in UTC); ``--note`` adds entries, and makes a section when there is no Unreleased one.

Bad input (an unknown distribution, a changelog with nothing to release or already holding a
section for the version) exits with status 2 and a message saying what to do, changing no
file.

Usage: ``uv run python tools/release.py DISTRIBUTION [--version X.Y.Z] [--note TEXT ...]
[--date YYYY-MM-DD] [--root DIR]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

__all__ = ["ReleaseError", "find_member", "main", "update_changelog"]

ROOT = Path(__file__).resolve().parent.parent
_UNRELEASED = re.compile(r"^##\s+\[?unreleased\]?\s*$", re.IGNORECASE)
_SECTION = re.compile(r"^##\s")


class ReleaseError(Exception):
    """Bad input or a changelog this tool cannot safely edit; the message says what to do."""


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def find_member(root: Path, name: str) -> tuple[Path, str]:
    """Returns the folder of the workspace distribution `name` and its version.

    Raises:
        ReleaseError: If no member under ``root/packages`` has that name, or it has no
            static version.
    """
    known = []
    for pyproject in sorted((root / "packages").glob("*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text()).get("project", {})
        known.append(str(project.get("name")))
        if _canonical(str(project.get("name"))) == _canonical(name):
            version = project.get("version")
            if not isinstance(version, str):
                raise ReleaseError(f"{pyproject} has no static [project] version")
            return pyproject.parent, version
    raise ReleaseError(
        f"no distribution named {name!r} in {root / 'packages'}; known: {', '.join(known)}"
    )


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
        if re.match(rf"^##\s+\[?{re.escape(version)}\]?(\s|$)", line.strip()):
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


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date YYYY-MM-DD") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Dates the changelog from the command line.

    Args:
        argv: Command-line arguments (default: `sys.argv[1:]`).

    Returns:
        0 once the changelog is written, 2 for bad input (nothing written).
    """
    parser = argparse.ArgumentParser(description="Date one distribution's changelog.")
    parser.add_argument("distribution", help="for example connector-core")
    parser.add_argument(
        "--version", help="the version released (default: the one in its pyproject.toml)"
    )
    parser.add_argument(
        "--note", action="append", default=[], help="a changelog entry (repeatable)"
    )
    parser.add_argument(
        "--date", type=_date, default=dt.datetime.now(dt.UTC).date(), help="default: today (UTC)"
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="workspace root (default: this)")
    args = parser.parse_args(argv)
    try:
        directory, current = find_member(args.root.resolve(), args.distribution)
        version = args.version or current
        changelog = directory / "CHANGELOG.md"
        if not changelog.is_file():
            raise ReleaseError(f"{changelog} does not exist: create it with a title line")
        text = update_changelog(changelog.read_text(), version, args.date, args.note)
    except ReleaseError as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 2
    changelog.write_text(text)
    print(f"dated {changelog.relative_to(args.root.resolve())}: ## {version} - {args.date}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
