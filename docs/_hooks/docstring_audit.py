"""MkDocs hook: the public API's docstrings document every parameter and raised exception.

The reference pages render whatever the docstrings say; a parameter missing from `Args:` has
no row in its table, and an exception a function raises but does not list under `Raises:`
is invisible to readers. Before the build, this hook loads each documented package with
griffe (statically, as mkdocstrings does) and, for every public function and method reachable
from the package's `__all__`, logs a warning (which `mkdocs build --strict` turns into a
failure) when:

- it has no docstring;
- a parameter other than `self`/`cls` has no `Args:` entry;
- its body has a `raise SomeError(...)` whose class is not listed under `Raises:`.

Only explicit `raise` statements in the function's own body are seen; exceptions that
propagate from callees are the author's to list.
"""

from __future__ import annotations

import ast
import logging
import textwrap
from collections.abc import Iterable
from typing import Any

import griffe

log = logging.getLogger("mkdocs.hooks.docstring_audit")

PACKAGES = (
    "connector_core",
    "connector_core.testing",
    "connector_zmq",
    "connector_rabbitmq",
    "connector_ray",
    "connector_redis",
)
"""Packages whose public API is audited: every package the reference pages document."""

SEARCH_PATHS = [
    "packages/connector-core/src",
    "packages/connector-zmq/src",
    "packages/connector-rabbitmq/src",
    "packages/connector-ray/src",
    "packages/connector-redis/src",
]
_IGNORED_RAISES = {"NotImplementedError", "StopAsyncIteration", "StopIteration"}


def _raised_names(source: str) -> set[str]:
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name) and exc.id[:1].isupper():
                names.add(exc.id)
            elif isinstance(exc, ast.Attribute):
                names.add(exc.attr)
    return names - _IGNORED_RAISES


def audit_function(func: griffe.Function) -> list[str]:
    """Returns the problems of one function's docstring."""
    if func.docstring is None:
        return [f"{func.path}: no docstring"]
    documented: set[str] = set()
    raises: set[str] = set()
    for section in func.docstring.parse("google"):
        if section.kind is griffe.DocstringSectionKind.parameters:
            documented |= {param.name.lstrip("*") for param in section.value}
        elif section.kind is griffe.DocstringSectionKind.raises:
            raises |= {str(item.annotation).rpartition(".")[2] for item in section.value}
    problems = []
    params = [p.name for p in func.parameters if p.name not in {"self", "cls"}]
    missing = [name for name in params if name not in documented]
    if missing:
        problems.append(f"{func.path}: parameters without an Args: entry: {', '.join(missing)}")
    try:
        source = func.source
    except (OSError, ValueError):
        source = ""
    unlisted = sorted(_raised_names(source) - raises)
    if unlisted:
        problems.append(f"{func.path}: raises {', '.join(unlisted)} but Raises: does not say so")
    return problems


def _walk(obj: Any, seen: set[str]) -> Iterable[str]:
    if obj.is_alias:
        try:
            obj = obj.final_target
        except griffe.AliasResolutionError as exc:
            yield f"{obj.path}: cannot be resolved ({exc})"
            return
    if obj.path in seen:
        return
    seen.add(obj.path)
    if obj.is_function:
        yield from audit_function(obj)
    elif obj.is_class:
        if obj.docstring is None:
            yield f"{obj.path}: no docstring"
        for name, member in obj.members.items():
            if name.startswith("_") and name != "__init__":
                continue
            if member.is_alias:
                continue  # defined elsewhere: audited where it is defined
            yield from _walk(member, seen)


def audit(packages: Iterable[str] = PACKAGES) -> list[str]:
    """Returns every problem of the packages' public docstrings."""
    problems: list[str] = []
    seen: set[str] = set()
    for name in packages:
        try:
            module = griffe.load(name, search_paths=SEARCH_PATHS, resolve_aliases=True)
        except (ImportError, griffe.GriffeError) as exc:
            problems.append(f"{name}: cannot be loaded ({exc})")
            continue
        exports = module.exports
        if exports is None:
            problems.append(f"{name}: no __all__")
            continue
        for export in exports:
            export_name = export if isinstance(export, str) else export.name
            if export_name not in module.members:
                problems.append(f"{name}.{export_name}: in __all__ but not defined")
                continue
            problems.extend(_walk(module.members[export_name], seen))
    return problems


def on_pre_build(config: Any) -> None:
    """MkDocs event: logs one warning per docstring problem (fatal under --strict)."""
    for problem in audit():
        log.warning("docstring: %s", problem)
