"""The year-end archive: sealed BagIt bags, the fixity register, retention and destruction.

Public API (the CLI, `status`, the web page, the scheduler, `report D10` and `demo` call these):

* `create(config, "2025/2026", supersedes=(), renderer=None, force=False,
  accept_deletions=False, progress=None)` → new bag paths; `readiness(config, year)` says
  beforehand why sealing now would be refused (year not over) or asked (recent deletions)
* `verify(config, bag=None, full=False, at=None)` → `VerifyResult`s, the register's chain
  first (logged in the register against the place checked)
* `bag_health(config)` → one row per (bag, location): the store and every known copy
* `plan_full_checks(register, bags, today, per_run=None)` → bags to fully re-hash this week;
  `run_full_checks(config, today)` runs that plan (the weekly job)
* `list_bags`, `get`, `copy`, `due`, `nothing_due`, `destroy`, `restore_test`
* `destruction_act(config, on=None)` drafts an act; `approve_act(config, number, by)`
  records its approval (only an approved act destroys)
* `register_rows(config)`, `register_head(config)` (D10's rows and the chain head),
  `status_section(config)`
"""

from __future__ import annotations

from asurso_sync.archive.act import destruction_act
from asurso_sync.archive.build import (
    DeletionsNotConfirmed,
    Progress,
    Readiness,
    create,
    readiness,
)
from asurso_sync.archive.fixity import Problem, VerifyResult, verify_bag
from asurso_sync.archive.names import (
    ArchiveError,
    bag_name,
    parse_bag_name,
    parse_year,
    retain_until,
    transliterate,
)
from asurso_sync.archive.register import check_chain, open_register, plan_full_checks
from asurso_sync.archive.store import (
    REGISTER_COLUMNS,
    BagEntry,
    approve_act,
    bag_health,
    copy,
    destroy,
    due,
    get,
    list_bags,
    nothing_due,
    register_head,
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
    "DeletionsNotConfirmed",
    "Problem",
    "Progress",
    "Readiness",
    "VerifyResult",
    "approve_act",
    "bag_health",
    "bag_name",
    "check_chain",
    "copy",
    "create",
    "destroy",
    "destruction_act",
    "due",
    "get",
    "list_bags",
    "nothing_due",
    "open_register",
    "parse_bag_name",
    "parse_year",
    "plan_full_checks",
    "readiness",
    "register_head",
    "register_rows",
    "restore_test",
    "retain_until",
    "run_full_checks",
    "status_section",
    "transliterate",
    "verify",
    "verify_bag",
]
