"""The README's Python examples run, so the first code a reader sees cannot rot.

Every fenced `python` block of README.md is written to a file and run as a script in a fresh
interpreter (the cross-process example spawns processes, which needs a real file), and must
exit 0 within the timeout.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
TIMEOUT = 100.0
"""Seconds one example may run (under the 120 s per-test timeout)."""

_BLOCK = re.compile(r"^```python\n(?P<code>.*?)^```$", re.MULTILINE | re.DOTALL)


def _examples() -> list[tuple[int, str]]:
    text = README.read_text()
    return [(text.count("\n", 0, m.start()) + 1, m.group("code")) for m in _BLOCK.finditer(text)]


EXAMPLES = [
    pytest.param(
        line,
        code,
        id=f"README.md:{line}",
        marks=[pytest.mark.crossprocess] if "multiprocessing" in code else [],
    )
    for line, code in _examples()
]


def test_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize(("line", "code"), EXAMPLES)
def test_readme_example_runs(line: int, code: str, tmp_path: Path) -> None:
    script = tmp_path / f"readme_example_{line}.py"
    script.write_text(code)
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, (
        f"README.md:{line} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    )
