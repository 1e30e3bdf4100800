"""Every error the tool reports to a person, as one tree; the CLI turns each into one line on
stderr (a traceback only with `-v`) and its exit code.

    AsursoSyncError               1  a problem the user can act on
    ├── ConfigError               1  the config file is missing a key or has a wrong value
    ├── CredentialsError          1  the login or password cannot be read
    ├── AuthError                 4  the portal refused the login
    ├── PortalError               1  the portal's answer cannot be used, even after retries
    │   ├── PortalRefused         1  a firewall or the portal refused this address (403 page)
    │   ├── LayoutError           1  an endpoint's answer lacks a key the contract requires
    │   └── AnswerTooLarge        1  an answer grew past `[portal] max_answer_mb`
    ├── SyncLocked                1  another sync holds the mirror's lock (a scheduled job
    │                                waits for the next tick instead: no failure)
    ├── DeletionRefused           1  a sync would mark deleted too much of a table
    ├── SyncPartial               1  a sync committed but left some scopes untouched
    ├── MirrorOutdated            1  a read-only command met a mirror awaiting migrations
    ├── StorageError              1  the disk is full, read-only, or the mirror is damaged
    │   └── MirrorDamaged         1  the mirror file is empty or not an SQLite database
    ├── MissingExtra              1  an optional feature's package or OS library is missing
    ├── ReportError               1  a document cannot be made as asked
    ├── ArchiveError              1  a user-facing archive problem (unknown bag, refused ...)
    ├── EmailError                1  the SMTP server could not be reached or refused
    ├── JobError                  1  a scheduled job found a problem (e.g. a damaged bag)
    ├── ScheduleLocked            1  another scheduler runs jobs on this mirror (a cron run
    │                                just skips: exit 0)
    └── JobsFailed                1  `schedule --once`: at least one job failed

Exit codes of the command line: 0 ok, 1 an error above, 2 a usage error (click), 3 `check`
found findings at or above `--fail-on`, 4 the portal refused the login, 130 interrupted.
"""

from __future__ import annotations


class AsursoSyncError(Exception):
    """Base class: a problem the user can act on, shown as one line (exit 1)."""

    exit_code = 1


class ConfigError(AsursoSyncError):
    """The config file is missing a key, has a wrong value or contradicts itself."""


class CredentialsError(AsursoSyncError):
    """The login or password cannot be read (missing variable, unsafe file mode, ...)."""


class AuthError(AsursoSyncError):
    """The portal refused the login; the message is the portal's own words (exit 4)."""

    exit_code = 4


class PortalError(AsursoSyncError):
    """The portal answered in a way the client cannot use, even after retries."""


class PortalRefused(PortalError):
    """The portal (or a firewall in front of it) refused this address: a 403 HTML page."""


class LayoutError(PortalError):
    """An endpoint's answer lacks a key the contract requires (a changed layout)."""

    def __init__(self, endpoint: str, key: str, detail: str = "") -> None:
        self.endpoint = endpoint
        self.key = key
        text = f"the portal's answer to {endpoint} has no key {key!r}"
        super().__init__(text + (f" ({detail})" if detail else ""))


class SyncLocked(AsursoSyncError):
    """Another sync holds the mirror's lock."""


class StorageError(AsursoSyncError):
    """The disk is full, the file system is read-only, or the mirror file is damaged."""


class MissingExtra(AsursoSyncError):
    """An optional feature needs a package or system library that is not installed."""


class MirrorDamaged(StorageError):
    """The mirror file is empty or not a SQLite database: never silently replaced."""


class DeletionRefused(AsursoSyncError):
    """A sync would mark deleted more of a table than `[sync] max_deletion_share` allows."""


class SyncPartial(AsursoSyncError):
    """A sync committed, but left some scopes untouched because their answers did not fit."""


class AnswerTooLarge(PortalError):
    """An answer grew past `[portal] max_answer_mb`: the client stopped reading it."""


class MirrorOutdated(AsursoSyncError):
    """A read-only command met a mirror made by an older version (migrations pending)."""


class ReportError(AsursoSyncError):
    """A document cannot be made as asked (unknown class, no data for the period, ...)."""


class ArchiveError(AsursoSyncError):
    """A user-facing archive problem (bad year, unknown bag, refused destruction, ...)."""


class EmailError(AsursoSyncError):
    """The SMTP server could not be reached or refused the message."""


class JobError(AsursoSyncError):
    """A scheduled job found a problem it must report as a failure (e.g. a damaged bag)."""


class ScheduleLocked(AsursoSyncError):
    """Another scheduler (the `schedule` service or a cron run) is working on this mirror.

    `schedule --once` takes it as "nothing to do now" (exit 0); a second service fails."""


class JobsFailed(AsursoSyncError):
    """`schedule --once`: at least one job failed (cron sees exit 1 and one line)."""
