"""`python -m connector_core.cli`: the same as the `connector` command."""

from __future__ import annotations

from connector_core.cli import main

if __name__ == "__main__":
    main()
