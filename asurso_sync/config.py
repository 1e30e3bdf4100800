"""Load the TOML config into frozen dataclasses; find it; read credentials safely.

Each package that owns a section validates it itself (`rules.settings`, `documents.settings`,
`schedule.settings`); this module owns the sections every command needs and the lookup order
`--config` → `$ASURSO_SYNC_CONFIG` → `./asurso-sync.toml`.
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asurso_sync.errors import ConfigError, CredentialsError

DEFAULT_CONFIG_NAME = "asurso-sync.toml"
ENV_CONFIG = "ASURSO_SYNC_CONFIG"
KNOWN_SECTIONS = {
    "portal",
    "credentials",
    "mirror",
    "archive",
    "sync",
    "rules",
    "report",
    "schedule",
    "email",
}


@dataclass(frozen=True)
class PortalSettings:
    base_url: str = "https://asurso.ru"
    school: str | None = None
    school_id: int | None = None
    role: str | None = None
    timeout_s: float = 30.0
    max_retries: int = 4
    concurrency: int = 4
    request_delay_s: float = 0.0
    verify_tls: bool = True
    # extra CA certificates (PEM) trusted besides certifi's, e.g. the Russian Trusted Root CA
    ca_bundle: str = ""
    # an HTTP(S) proxy for portals that refuse data-centre addresses
    proxy: str = ""
    # "long" (LoginType=1, cid, sid, pid, cn, sft, scid, UN, PW, ...) or "short" login form
    login_form: str = "long"
    max_answer_mb: float = 100.0


@dataclass(frozen=True)
class CredentialSettings:
    login: str | None = None
    login_env: str = "ASURSO_LOGIN"
    password_env: str = "ASURSO_PASSWORD"
    password_file: str | None = None


@dataclass(frozen=True)
class MirrorSettings:
    path: str = "asurso.db"


@dataclass(frozen=True)
class ArchiveSettings:
    path: str = "archive_store"
    retention_article: str = ""
    safe_path: str | None = None
    # the rest is validated by asurso_sync.archive.settings
    source_organization: str = ""
    journal_years: int = 5
    summary_years: int = 25
    year_reports: tuple[str, ...] = ("remarks", "filling", "attendance")
    full_check_days: int = 90
    full_checks_per_run: int = 0
    keeper: str = ""  # D10 «Кем передано»: the person responsible for the archive
    place: str = ""  # D10 «Место хранения»: a description of the place, not a path


@dataclass(frozen=True)
class SyncSettings:
    timezone: str = "Europe/Samara"
    fetch_access_report: bool = True
    max_deletion_share: float = 0.2
    request_deadline_s: float = 120.0
    run_deadline_s: float = 10800.0


@dataclass(frozen=True)
class Config:
    """The whole config. `raw` keeps every section for the packages that parse their own."""

    path: Path | None = None
    portal: PortalSettings = field(default_factory=PortalSettings)
    credentials: CredentialSettings = field(default_factory=CredentialSettings)
    mirror: MirrorSettings = field(default_factory=MirrorSettings)
    archive: ArchiveSettings = field(default_factory=ArchiveSettings)
    sync: SyncSettings = field(default_factory=SyncSettings)
    raw: dict[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        """The raw table of one section ({} when absent)."""
        value = self.raw.get(name, {})
        return value if isinstance(value, dict) else {}

    def resolve(self, path: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        p = Path(path).expanduser()
        if not p.is_absolute() and self.path is not None:
            p = self.path.parent / p
        return p

    @property
    def mirror_path(self) -> Path:
        return self.resolve(self.mirror.path)

    @property
    def archive_path(self) -> Path:
        return self.resolve(self.archive.path)


def find_config(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to use, or None when there is none (commands then use defaults)."""
    if explicit:
        path = Path(explicit)
        if not path.exists():
            raise ConfigError(f"config file {path} does not exist")
        return path
    env = os.environ.get(ENV_CONFIG)
    if env:
        path = Path(env)
        if not path.exists():
            raise ConfigError(f"${ENV_CONFIG} names {path}, which does not exist")
        return path
    local = Path(DEFAULT_CONFIG_NAME)
    return local if local.exists() else None


def _build(cls: type, section: str, table: dict[str, Any]) -> Any:
    names = {f.name: f for f in cls.__dataclass_fields__.values()}  # type: ignore[attr-defined]
    unknown = sorted(set(table) - set(names))
    if unknown:
        raise ConfigError(f"[{section}] has unknown key(s): {', '.join(unknown)}")
    values = {}
    for key, value in table.items():
        default = names[key].default
        if isinstance(default, bool) and not isinstance(value, bool):
            raise ConfigError(f"[{section}] {key} must be true or false")
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if isinstance(default, int | float) and not isinstance(default, bool) and not is_number:
            raise ConfigError(f"[{section}] {key} must be a number")
        values[key] = value
    return cls(**values)


def parse_config(data: dict[str, Any], path: Path | None = None) -> Config:
    """Validate a parsed TOML document into a Config."""
    unknown = sorted(set(data) - KNOWN_SECTIONS)
    if unknown:
        raise ConfigError(f"unknown section(s) in the config: {', '.join(unknown)}")
    for name, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(f"[{name}] must be a table")
    portal = _build(PortalSettings, "portal", data.get("portal", {}))
    if portal.concurrency < 1:
        raise ConfigError("[portal] concurrency must be at least 1")
    if "password" in data.get("credentials", {}):
        raise ConfigError(
            "[credentials] must not hold the password: use password_env or password_file"
        )
    return Config(
        path=path,
        portal=portal,
        credentials=_build(CredentialSettings, "credentials", data.get("credentials", {})),
        mirror=_build(MirrorSettings, "mirror", data.get("mirror", {})),
        archive=_build(ArchiveSettings, "archive", data.get("archive", {})),
        sync=_build(SyncSettings, "sync", data.get("sync", {})),
        raw=data,
    )


def load_config(explicit: str | os.PathLike[str] | None = None) -> Config:
    """Find and read the config; a malformed file is a ConfigError naming the problem."""
    path = find_config(explicit)
    if path is None:
        return Config()
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return parse_config(data, path.resolve())


def read_login(settings: CredentialSettings) -> str:
    if settings.login:
        return settings.login
    value = os.environ.get(settings.login_env)
    if not value:
        raise CredentialsError(
            f"no portal login: set ${settings.login_env} or [credentials] login in the config"
        )
    return value


def read_password(settings: CredentialSettings, base: Path | None = None) -> str:
    """The password from a 0600 file, systemd credentials, or the environment (in that order)."""
    if settings.password_file:
        path = Path(settings.password_file).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        return _read_secret_file(path)
    cred_dir = os.environ.get("CREDENTIALS_DIRECTORY")
    if cred_dir and (Path(cred_dir) / "password").exists():
        return _read_secret_file(Path(cred_dir) / "password", check_mode=False)
    value = os.environ.get(settings.password_env)
    if not value:
        raise CredentialsError(
            f"no portal password: set ${settings.password_env} or [credentials] password_file"
        )
    return value


def _read_secret_file(path: Path, check_mode: bool = True) -> str:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise CredentialsError(f"password file {path} does not exist") from None
    if check_mode and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CredentialsError(
            f"password file {path} is readable by others (mode {stat.S_IMODE(mode):o}); "
            f"run: chmod 600 {path}"
        )
    return path.read_text(encoding="utf-8").strip("\r\n")


def write_secret_file(path: Path, secret: str) -> None:
    """Create a file only its owner can read, then write the secret into it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secret + "\n")
    os.chmod(path, 0o600)
