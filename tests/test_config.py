"""The config: lookup order, validation, and credentials that never live in the file."""

import os

import pytest

from asurso_sync.config import (
    CredentialSettings,
    find_config,
    load_config,
    parse_config,
    read_login,
    read_password,
    write_secret_file,
)
from asurso_sync.errors import ConfigError, CredentialsError


def test_lookup_prefers_explicit_then_env_then_cwd(tmp_path, monkeypatch):
    explicit = tmp_path / "a.toml"
    explicit.write_text("")
    from_env = tmp_path / "b.toml"
    from_env.write_text("")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "asurso-sync.toml").write_text("")
    monkeypatch.setenv("ASURSO_SYNC_CONFIG", str(from_env))
    assert find_config(explicit) == explicit
    assert find_config(None) == from_env
    monkeypatch.delenv("ASURSO_SYNC_CONFIG")
    assert str(find_config(None)) == "asurso-sync.toml"


def test_missing_explicit_config_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        find_config(tmp_path / "nope.toml")


def test_paths_are_relative_to_the_config_file(tmp_path):
    path = tmp_path / "etc" / "asurso-sync.toml"
    path.parent.mkdir()
    path.write_text('[mirror]\npath = "data/asurso.db"\n[portal]\nschool = "ГБОУ ООШ №39"\n')
    config = load_config(path)
    assert config.mirror_path == tmp_path / "etc" / "data" / "asurso.db"
    assert config.portal.school == "ГБОУ ООШ №39"
    assert config.portal.concurrency == 4


@pytest.mark.parametrize(
    "data, message",
    [
        ({"portal": {"base_ur": "x"}}, r"\[portal\] has unknown key\(s\): base_ur"),
        ({"portl": {}}, "unknown section"),
        ({"portal": {"concurrency": 0}}, "concurrency must be at least 1"),
        ({"portal": {"timeout_s": "10"}}, "timeout_s must be a number"),
        ({"credentials": {"password": "секрет"}}, "must not hold the password"),
    ],
)
def test_bad_config_names_the_key(data, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(data)


def test_malformed_toml_is_one_clear_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[portal\n")
    with pytest.raises(ConfigError, match="bad.toml"):
        load_config(path)


def test_password_from_environment(monkeypatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.setenv("ASURSO_PASSWORD", "пароль")
    assert read_password(CredentialSettings()) == "пароль"


def test_password_file_must_be_owner_only(tmp_path):
    path = tmp_path / "password"
    write_secret_file(path, "пароль")
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert read_password(CredentialSettings(password_file=str(path))) == "пароль"
    os.chmod(path, 0o644)
    with pytest.raises(CredentialsError, match="chmod 600"):
        read_password(CredentialSettings(password_file=str(path)))


def test_systemd_credentials_directory(tmp_path, monkeypatch):
    (tmp_path / "password").write_text("из-systemd\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    monkeypatch.delenv("ASURSO_PASSWORD", raising=False)
    assert read_password(CredentialSettings()) == "из-systemd"


def test_missing_credentials_say_which_variable(monkeypatch):
    monkeypatch.delenv("ASURSO_LOGIN", raising=False)
    monkeypatch.delenv("ASURSO_PASSWORD", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    with pytest.raises(CredentialsError, match=r"\$ASURSO_LOGIN"):
        read_login(CredentialSettings())
    with pytest.raises(CredentialsError, match=r"\$ASURSO_PASSWORD"):
        read_password(CredentialSettings())
