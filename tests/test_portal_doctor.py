"""`doctor` and `capture` (issue 11 items 3–4, issue 12.15): against the simulator (in process
and on 127.0.0.1), an ESIA-only staff login, and a self-signed certificate on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import re
import ssl
import subprocess
import threading
import zipfile
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from click.testing import CliRunner

from asurso_sync.cli import cli
from asurso_sync.config import PortalSettings
from asurso_sync.mirror.db import open_mirror
from asurso_sync.portal.doctor import diagnose, format_table
from asurso_sync.portal.wsgi_transport import AsyncWSGITransport
from asurso_sync.simulator import make_app
from asurso_sync.simulator.server import serve

AS_OF = dt.date(2026, 5, 20)


def account(app, role="admin") -> dict:
    return next(a for a in app.accounts if a["role"] == role)


def altered(app, path: str, change):
    """A wrapper around the simulator that alters one endpoint's JSON answer."""

    def wrapper(environ, start_response):
        if environ.get("PATH_INFO") != path:
            return app(environ, start_response)
        captured = {}

        def keep(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        body = b"".join(app(environ, keep))
        status, headers = captured["status"], captured["headers"]
        if status.startswith("200") and body[:1] in (b"[", b"{"):
            body = json.dumps(change(json.loads(body)), ensure_ascii=False).encode()
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]

    wrapper.accounts = app.accounts  # type: ignore[attr-defined]
    return wrapper


def no_teachers(groups):
    for g in groups:
        g.pop("teachers", None)
    return groups


def no_term_ids(journal):
    for j in journal["journals"]:
        for t in j.get("totals") or []:
            t.pop("termId", None)
    return journal


def run_doctor(app, role="admin"):
    acc = account(app, role)
    settings = PortalSettings(base_url="http://simulator.test", school_id=acc["school_id"])
    result, recorder = diagnose(
        settings, acc["login"], acc["password"], transport=AsyncWSGITransport(app), today=AS_OF
    )
    return result, recorder


def test_doctor_against_the_simulator_rates_every_endpoint_ok(small_school):
    result, _ = run_doctor(make_app(small_school, as_of=AS_OF))
    assert [(r.endpoint, r.status, r.verdict) for r in result.rows] == [
        ("login", 200, "ok"),
        ("context", 200, "ok"),
        ("years/current", 200, "ok"),
        ("mysettings", 200, "ok"),
        ("terms", 200, "ok"),
        ("calendar/vacations", 200, "ok"),
        ("classes", 200, "ok"),
        ("subjects", 200, "ok"),
        ("grade/assignment/types", 200, "ok"),
        ("grade/attendance/reasons", 200, "ok"),
        ("school/settings", 200, "ok"),
        ("schools/{id}/card", 200, "ok"),
        ("subjectgroups", 200, "ok"),
        ("grade/studentList", 200, "ok"),
        ("subjectplans/getForSubjectGroup", 200, "ok"),
        ("grade/journal", 200, "ok"),
        ("JournalAccess.asp", 200, "ok"),
        ("reports/journalaccess (queue)", 404, "skipped: not offered"),
    ]
    assert result.ok and result.report_path == "legacy ASP"
    assert result.login["role"] == "Администратор" and result.login["password_login"] is True
    table = format_table(result)
    assert "grade/journal                     200" in table
    assert table.endswith("a sync would work")


def test_doctor_names_the_real_variants_it_tolerates(small_school):
    result, _ = run_doctor(make_app(small_school, as_of=AS_OF, quirks="all,access_2018"))
    verdicts = {r.endpoint: r.verdict for r in result.rows}
    assert verdicts["login"] == "tolerated: userRoles empty (role from context)"
    assert verdicts["subjectgroups"] == (
        "tolerated: no teachers (from subjectgroups/terms); terms as objects"
    )
    assert verdicts["subjectgroups/terms"] == "ok"
    assert verdicts["grade/journal"] == "tolerated: totals without termId"
    assert verdicts["JournalAccess.asp"] == "tolerated: layout 2018"
    assert verdicts["mysettings"] == (
        "tolerated: the account's selected year is "
        f"{small_school.calendar.year_id + 1}, not the current {small_school.calendar.year_id} "
        "(the sync passes yearId)"
    )
    assert result.login["role_source"] == "context"
    assert result.ok


def test_doctor_for_a_parent_samples_the_diary(small_school):
    result, _ = run_doctor(make_app(small_school, as_of=AS_OF), role="parent")
    assert [(r.endpoint, r.verdict) for r in result.rows] == [
        ("login", "ok"),
        ("student/diary/init", "ok"),
        ("years/current", "ok"),
        ("terms", "ok"),
        ("student/diary", "ok"),
    ]
    assert result.ok


def write_config(folder: Path, url: str, acc: dict, **portal) -> Path:
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in portal.items())
    path = folder / "asurso-sync.toml"
    path.write_text(
        f'[portal]\nbase_url = "{url}"\nschool_id = {acc["school_id"]}\nmax_retries = 1\n'
        f"timeout_s = 10.0\n{extra}"
        f'[credentials]\nlogin = "{acc["login"]}"\n[mirror]\npath = "asurso.db"\n',
        encoding="utf-8",
    )
    return path


def invoke(config: Path, *args: str, password: str):
    return CliRunner().invoke(
        cli, ["--config", str(config), *args], env={"ASURSO_PASSWORD": password}
    )


def test_doctor_command_over_127_0_0_1_exits_0_and_stores_its_result(small_school, tmp_path):
    app = make_app(small_school, as_of=dt.date.today())
    acc = account(app)
    with serve(app) as server:
        config = write_config(tmp_path, server.url, acc)
        result = invoke(config, "doctor", password=acc["password"])
    assert result.exit_code == 0, result.output
    assert "JournalAccess.asp" in result.output and "a sync would work" in result.output
    db = open_mirror(tmp_path / "asurso.db")
    rows = list(db.query("SELECT ok, portal_url, report_path FROM doctor_runs"))
    assert rows == [{"ok": 1, "portal_url": server.url, "report_path": "legacy ASP"}]


def test_doctor_against_esia_only_staff_login_exits_non_zero_naming_it(small_school, tmp_path):
    app = make_app(small_school, as_of=dt.date.today(), quirks="esia_only_staff")
    acc = account(app)
    with serve(app) as server:
        config = write_config(tmp_path, server.url, acc)
        result = invoke(config, "doctor", password=acc["password"])
    assert result.exit_code == 1
    assert "refuses password login for this account's role" in result.output
    assert "ESIA enforced: yes" in result.output
    assert "login --session-from FILE" in result.output
    assert "a sync would fail" in result.output


@pytest.fixture
def self_signed(tmp_path) -> tuple[Path, Path]:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return key, cert


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


class _Threaded(WSGIServer):
    def handle_error(self, request, client_address) -> None:
        pass  # a refused handshake is the point of the test


def tls_server(app, key: Path, cert: Path):
    httpd = make_server("127.0.0.1", 0, app, server_class=_Threaded, handler_class=_Quiet)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    return httpd, f"https://127.0.0.1:{httpd.server_port}"


def test_doctor_against_a_self_signed_certificate_names_the_certificate(
    small_school, tmp_path, self_signed
):
    app = make_app(small_school, as_of=dt.date.today())
    acc = account(app)
    httpd, url = tls_server(app, *self_signed)
    try:
        config = write_config(tmp_path, url, acc)
        refused = invoke(config, "doctor", password=acc["password"])
        trusted = invoke(
            write_config(tmp_path, url, acc, ca_bundle=str(self_signed[1])),
            "doctor",
            password=acc["password"],
        )
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert refused.exit_code == 1
    assert "TLS        failed: the portal's TLS certificate was not accepted" in refused.output
    assert "Russian Trusted Root CA" in refused.output and "ca_bundle" in refused.output
    assert trusted.exit_code == 0, trusted.output
    assert "TLS        ok (TLSv1.3; commonName=127.0.0.1, issued by commonName=127.0.0.1" in (
        trusted.output
    )


# --- capture ---------------------------------------------------------------------------------


def people_of(school) -> list[str]:
    """Every person's full name and its «Фамилия И.О.» form."""
    people = [s.name for s in school.students.values()]
    people += [p.name for p in school.staff.values()]
    people += [u.name for u in school.users]
    short = [
        f"{n.split()[0]} {n.split()[1][0]}.{n.split()[2][0]}."
        for n in people
        if len(n.split()) == 3
    ]
    return people + short


@pytest.mark.parametrize("quirks", ["", "all", "all,roles_object,access_2018"])
def test_capture_pseudonymises_the_access_report_of_every_layout(small_school, quirks):
    from asurso_sync.portal.capture import build_capture

    result, recorder = run_doctor(make_app(small_school, as_of=AS_OF, quirks=quirks))
    raw = b"".join(e.body for e in recorder.exchanges)
    report = next(e for e in recorder.exchanges if e.path == "/asp/Reports/JournalAccess.asp")
    shown = [n for n in people_of(small_school) if n.encode("cp1251") in report.body]
    assert shown  # the report names people: the test below has something to find
    files = build_capture(result, recorder.exchanges)
    everything = "\n".join(data.decode("utf-8") for data in files.values())
    assert raw and sorted({n for n in people_of(small_school) if n in everything}) == []


def test_capture_holds_no_name_login_or_password_of_the_school(small_school, tmp_path):
    app = make_app(small_school, as_of=dt.date.today())
    acc = account(app)
    out = tmp_path / "capture.zip"
    with serve(app) as server:
        config = write_config(tmp_path, server.url, acc)
        result = invoke(config, "capture", "--out", str(out), password=acc["password"])
    assert result.exit_code == 0, result.output
    assert out.stat().st_mode & 0o777 == 0o600
    with zipfile.ZipFile(out) as zf:
        texts = {name: zf.read(name).decode("utf-8") for name in zf.namelist()}
    everything = "\n".join(texts.values())
    people = [s.name for s in small_school.students.values()]
    people += [p.name for p in small_school.staff.values()]
    people += [u.name for u in small_school.users]
    short = [
        f"{n.split()[0]} {n.split()[1][0]}.{n.split()[2][0]}."
        for n in people
        if len(n.split()) == 3
    ]
    leaked = sorted({n for n in people + short if n in everything})
    assert leaked == []
    for user in small_school.users:
        assert user.login not in everything
        assert user.password not in everything
    # ids and the shape stay: the classes answer still has the school's class ids
    manifest = json.loads(texts["manifest.json"])
    assert manifest["portal_version"] and manifest["people_pseudonymised"] > 0
    classes = next(e for e in manifest["endpoints"] if e["path"] == "/webapi/classes")
    served = json.loads(texts[classes["file"]])["json"]
    assert sorted(c["id"] for c in served) == sorted(small_school.classes)
    assert not re.search(r'"at": "\d{5,}', everything)


def test_capture_pseudonyms_are_stable_across_files_and_become_fixtures(small_school, tmp_path):
    app = make_app(small_school, as_of=AS_OF)
    from asurso_sync.portal.capture import build_capture, to_fixtures, write_capture

    result, recorder = run_doctor(app)
    files = build_capture(result, recorder.exchanges, mask_text=True)
    classes = next(
        json.loads(v)["json"] for k, v in files.items() if k.endswith("webapi_classes.json")
    )
    chief = classes[0]["chiefs"][0]
    card = next(json.loads(v)["json"] for k, v in files.items() if "card" in k)
    groups = next(
        json.loads(v)["json"] for k, v in files.items() if k.endswith("webapi_subjectgroups.json")
    )
    names = {t["id"]: t["name"] for g in groups for t in g.get("teachers") or []}
    if chief["id"] in names:
        assert names[chief["id"]] == chief["name"]
    assert card["managementInfo"]["director"] != small_school.staff[min(small_school.staff)].name
    journal = next(
        json.loads(v)["json"] for k, v in files.items() if k.endswith("grade_journal.json")
    )
    topics = [
        a["assignmentName"]
        for cm in journal["journals"][0]["classMeeting"]
        for a in cm.get("assignments") or []
    ]
    assert topics and all(t is None or t.startswith("[текст") for t in topics)
    path = tmp_path / "c.zip"
    write_capture(path, files)
    written = to_fixtures(path, tmp_path / "fixtures")
    assert (tmp_path / "fixtures" / "README.captured.md") in written
    assert any(p.name == "captured_grade_journal_1.json" for p in written)
    result = CliRunner().invoke(cli, ["capture", "--to-fixtures", str(path), str(tmp_path / "f2")])
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {len(written)} fixture files to {tmp_path / 'f2'}\n"
