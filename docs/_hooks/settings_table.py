"""MkDocs hook: replaces `<!-- settings-table -->` with the tables of every setting.

The tables are generated at build time from `connector_core.settings.Settings` (the common
settings) and from each installed backend's settings class (the `connector.settings` entry
points), so the configuration page cannot drift from the code: a new field, or a new backend,
appears by itself, with its environment variable(s), type, default and description (the
field's `description=`). `tests/test_docs_examples.py` checks that every variable the tables
name is really read.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import AliasChoices, SecretStr
from pydantic.fields import FieldInfo

MARKER = "<!-- settings-table -->"
"""The line in a page that the table replaces."""


@dataclass(frozen=True)
class SettingRow:
    """One row of the configuration table."""

    field: str
    env_vars: tuple[str, ...]
    type: str
    default: str
    description: str


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " or ".join(f"`{value!r}`" for value in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        names = [_type_name(arg) for arg in args if arg is not type(None)]
        optional = " (optional)" if type(None) in args else ""
        return " or ".join(names) + optional
    if annotation is SecretStr:
        return "secret string"
    return f"`{getattr(annotation, '__name__', str(annotation))}`"


def _constraints(info: FieldInfo) -> str:
    notes = []
    for meta in info.metadata:
        pattern = getattr(meta, "pattern", None)
        if pattern:
            notes.append(f"must match `{pattern}`")
        for attr, word in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            bound = getattr(meta, attr, None)
            if bound is not None:
                notes.append(f"{word} {bound}")
    return f" ({'; '.join(notes)})" if notes else ""


def settings_sources() -> list[tuple[str, type[Any]]]:
    """Returns (title, class) for the common settings, then each installed backend's, by name."""
    from connector_core.settings import Settings, settings_classes

    sources: list[tuple[str, type[Any]]] = [("Common settings", Settings)]
    for backend, cls in settings_classes().items():
        sources.append((f"The {backend} backend", cls))
    return sources


def env_vars(name: str, info: FieldInfo, prefix: str) -> tuple[str, ...]:
    """Returns the environment variables that set field `name`, in the order they are read."""
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(str(choice) for choice in alias.choices)
    if isinstance(alias, str):
        return (alias,)
    return (f"{prefix}{name}".upper(),)


def settings_rows(cls: type[Any] | None = None) -> list[SettingRow]:
    """Returns one row per field of a settings class, in declaration order.

    Args:
        cls: Optional; the class (default: `connector_core.settings.Settings`).
    """
    if cls is None:
        from connector_core.settings import Settings

        cls = Settings
    prefix = str(cls.model_config.get("env_prefix", ""))
    rows = []
    for name, info in cls.model_fields.items():
        default = "unset" if info.default is None else f"`{info.default!r}`"
        rows.append(
            SettingRow(
                field=name,
                env_vars=env_vars(name, info, prefix),
                type=_type_name(info.annotation),
                default=default,
                description=(info.description or "").strip() + _constraints(info),
            )
        )
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def settings_table() -> str:
    """Returns the Markdown tables of every setting: the common ones, then each backend's."""
    lines: list[str] = []
    for title, cls in settings_sources():
        lines += [
            f"**{title}**: `{cls.__module__}.{cls.__qualname__}`",
            "",
            "| Setting | Environment variable | Type | Default | What it does |",
            "|---|---|---|---|---|",
        ]
        for row in settings_rows(cls):
            env = "<br>".join(f"`{var}`" for var in row.env_vars)
            lines.append(
                f"| `{row.field}` | {env} | {_cell(row.type)} | {_cell(row.default)} "
                f"| {_cell(row.description)} |"
            )
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """MkDocs event: fills in the settings table where a page asks for it."""
    if MARKER in markdown:
        return markdown.replace(MARKER, settings_table())
    return markdown
