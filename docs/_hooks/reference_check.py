"""MkDocs hook: every public name of every documented package is on its reference page.

mkdocstrings reads the sources statically, so a package that does not import, or a name in
`__all__` that the page fails to render, would go unnoticed. For each `::: package` line of a
page this hook imports the package and fails the build (a `PluginError`) if the import fails
or if a name of its `__all__` has no heading (`id="package.Name"`) in the rendered page.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from mkdocs.exceptions import PluginError

_DIRECTIVE = re.compile(r"^:::\s+([\w.]+)\s*$", re.MULTILINE)


def public_names(module_name: str) -> list[str]:
    """Returns `module_name.__all__`, importing the module.

    Raises:
        PluginError: If the module does not import or has no `__all__`.
    """
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise PluginError(
            f"the API reference documents {module_name}, which does not import: {exc!r}. "
            "Fix the package (or install it) before building the docs."
        ) from exc
    names = getattr(module, "__all__", None)
    if names is None:
        raise PluginError(f"{module_name} has no __all__: the reference cannot list its API")
    return [str(name) for name in names]


def missing_names(markdown: str, html: str) -> list[str]:
    """Returns the `package.Name`s of the page's `:::` packages that the HTML lacks."""
    missing = []
    for module_name in _DIRECTIVE.findall(markdown):
        for name in public_names(module_name):
            if f'id="{module_name}.{name}"' not in html:
                missing.append(f"{module_name}.{name}")
    return missing


def on_post_page(output: str, page: Any, config: Any) -> str:
    """MkDocs event: checks a rendered reference page."""
    missing = missing_names(page.file.content_string, output)
    if missing:
        raise PluginError(
            f"{page.file.src_path}: public names without a reference entry: "
            + ", ".join(missing)
            + " (give them a docstring, or check the mkdocstrings filters in mkdocs.yml)"
        )
    return output
