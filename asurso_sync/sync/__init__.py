"""The sync: portal records → mirror, one transaction per run, each scope all-or-nothing.

`fetch` chooses what to ask the portal (through `asurso_sync.portal.fetch`) and yields one batch
per scope; `apply` saves each batch with history and guards against mass deletions; `run` holds
the lock and the `sync_runs` row, the deadline and the progress. `sync_mirror` syncs any portal
over any transport, `run_sync` is what the `sync` command calls (the simulator's harness is in
`asurso_sync.demo`).
"""

from asurso_sync.sync.fetch import SyncOptions, choose_terms, first_day
from asurso_sync.sync.run import SyncResult, run_sync, sync_mirror

__all__ = ["SyncOptions", "SyncResult", "choose_terms", "first_day", "run_sync", "sync_mirror"]
