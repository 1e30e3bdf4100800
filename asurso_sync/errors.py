"""The errors domain code raises; the CLI turns each into one line and an exit code."""

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


class ArchiveIntegrityError(AsursoSyncError):
    """A sealed bag failed its fixity check."""


class MissingExtra(AsursoSyncError):
    """An optional feature needs a package or system library that is not installed."""


class MirrorDamaged(AsursoSyncError):
    """The mirror file is empty or not a SQLite database: never silently replaced."""


class DeletionRefused(AsursoSyncError):
    """A sync would mark deleted more of a table than `[sync] max_deletion_share` allows."""


class SyncPartial(AsursoSyncError):
    """A sync committed, but left some scopes untouched because their answers did not fit."""


class AnswerTooLarge(PortalError):
    """An answer grew past `[portal] max_answer_mb`: the client stopped reading it."""


class MirrorOutdated(AsursoSyncError):
    """A read-only command met a mirror made by an older version (migrations pending)."""
