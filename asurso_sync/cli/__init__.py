"""The click command line: parsing, output and exit codes only; the work is in the packages.

Each command lives in a module of this package and registers itself on `cli` (`cli/app.py`).
"""

from __future__ import annotations

from asurso_sync.cli.app import App, cli, main

# isort: split
from asurso_sync.cli import (  # noqa: F401 - each module registers its commands on `cli`
    archive,
    capture,
    check,
    demo,
    doctor,
    init,
    login,
    report,
    schedule,
    serve,
    simulate,
    status,
    sync,
    users,
)

__all__ = ["App", "cli", "main"]
