"""`ExportMixin`: objects that can describe themselves as plain dictionaries."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

__all__ = ["ExportMixin"]


class ExportMixin:
    """Adds `export()` (what it takes to rebuild the object) and `dict()` (what it is)."""

    @abstractmethod
    def export(self) -> dict[str, Any]:
        """Returns a JSON-compatible dictionary that describes how to rebuild this object."""

    def dict(self) -> dict[str, Any]:
        """Returns a JSON-compatible summary: the object's type and its exported fields."""
        cls = type(self)
        return {"type": f"{cls.__module__}.{cls.__qualname__}", **self.export()}
