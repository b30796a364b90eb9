"""Shared setup for the cross-package tests in this folder.

Puts the workspace root on `sys.path` so that the developer tools in `tools/` can be
imported as `tools.<module>` by their tests.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
