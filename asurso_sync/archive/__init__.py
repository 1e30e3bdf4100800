"""The year-end archive: sealed BagIt bags, the fixity register, retention and destruction.

Public API (the CLI, `status`, the scheduler, the documents' D10 and `demo` call these):

* `create(config, "2025/2026", supersedes=(), renderer=None)` → new bag paths
* `verify(config, bag=None, full=False)` → `VerifyResult`s (logged in the register)
* `plan_full_checks(register, bags, today, per_run=None)` → bags to fully re-hash this week;
  `run_full_checks(config, today)` runs that plan (the weekly job)
* `list_bags`, `get`, `copy`, `due`, `destroy`, `restore_test`, `destruction_act`
* `register_rows(config)` (D10 rows, keys in `REGISTER_COLUMNS`), `status_section(config)`,
  `demo_step(config_or_store, db, year)`
"""

from __future__ import annotations

from asurso_sync.archive.act import destruction_act
from asurso_sync.archive.build import create
from asurso_sync.archive.fixity import Problem, VerifyResult, verify_bag
from asurso_sync.archive.names import (
    ArchiveError,
    bag_name,
    parse_bag_name,
    parse_year,
    retain_until,
    transliterate,
)
from asurso_sync.archive.register import open_register, plan_full_checks
from asurso_sync.archive.store import (
    REGISTER_COLUMNS,
    BagEntry,
    copy,
    demo_step,
    destroy,
    due,
    get,
    list_bags,
    register_rows,
    restore_test,
    run_full_checks,
    status_section,
    verify,
)

__all__ = [
    "REGISTER_COLUMNS",
    "ArchiveError",
    "BagEntry",
    "Problem",
    "VerifyResult",
    "bag_name",
    "copy",
    "create",
    "demo_step",
    "destroy",
    "destruction_act",
    "due",
    "get",
    "list_bags",
    "open_register",
    "parse_bag_name",
    "parse_year",
    "plan_full_checks",
    "register_rows",
    "restore_test",
    "retain_until",
    "run_full_checks",
    "status_section",
    "transliterate",
    "verify",
    "verify_bag",
]
