"""`asurso-sync doctor`: the first contact with a portal, diagnosed in one run.

TLS, the portal's version, the login (password allowed? ESIA enforced? SecurityWarning? roles),
then one sample of every endpoint the sync uses, each run through the adapter and rated `ok`,
`tolerated: <variant>` (a real variant the adapter accepts, CONTRACT §7) or `failed: <why>`.
Every answer passes through `Recorder`, which `capture` reuses to save them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from asurso_sync.config import Config, PortalSettings
from asurso_sync.errors import AsursoSyncError, AuthError, LayoutError
from asurso_sync.portal import adapter
from asurso_sync.portal.client import PortalClient, is_family_role, network_transport
from asurso_sync.portal.session import credentials


@dataclass
class Exchange:
    """One request and its raw answer (what `capture` saves)."""

    method: str
    path: str
    params: dict[str, str]
    status: int
    content_type: str
    body: bytes
    seconds: float


class Recorder(httpx.AsyncBaseTransport):
    """A transport wrapper that keeps every answer (status, type, body, time); no headers."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[Exchange] = []
        self.certificate: dict[str, Any] | None = None  # the portal's, from the first TLS answer

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()
        response = await self.inner.handle_async_request(request)
        if self.certificate is None and request.url.scheme == "https":
            self.certificate = peer_certificate(response)
        body = await response.aread()
        params = {k: v for k, v in request.url.params.items() if k.lower() != "at"}
        self.exchanges.append(
            Exchange(
                request.method,
                request.url.path,
                params,
                response.status_code,
                response.headers.get("content-type", ""),
                body,
                time.monotonic() - started,
            )
        )
        # `body` is decoded: its headers must no longer say gzip (nor the encoded length)
        headers = [
            (name, value)
            for name, value in response.headers.raw
            if name.lower() not in (b"content-encoding", b"content-length", b"transfer-encoding")
        ]
        return httpx.Response(response.status_code, headers=headers, content=body, request=request)

    def last(self, path: str) -> Exchange | None:
        return next((e for e in reversed(self.exchanges) if e.path.endswith(path)), None)

    async def aclose(self) -> None:
        await self.inner.aclose()


def peer_certificate(response: httpx.Response) -> dict[str, Any] | None:
    """Subject, issuer and expiry of the certificate the server presented (verified)."""
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if ssl_object is None:
        return None
    cert = ssl_object.getpeercert() or {}

    def name(field: str) -> str:
        parts = dict(pair for rdn in cert.get(field, ()) for pair in rdn)
        return ", ".join(
            f"{k}={parts[k]}" for k in ("commonName", "organizationName") if k in parts
        )

    return {
        "subject": name("subject"),
        "issuer": name("issuer"),
        "not_after": cert.get("notAfter"),
        "tls_version": ssl_object.version(),
    }


@dataclass
class Row:
    endpoint: str
    status: int | None
    seconds: float | None
    verdict: str  # ok | tolerated: <variant> | failed: <why> | skipped: <why>
    required: bool = True

    @property
    def failed(self) -> bool:
        return self.verdict.startswith("failed")


@dataclass
class DoctorResult:
    portal_url: str
    run_at: str
    tls: str = ""
    server_version: str | None = None
    login: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    report_path: str = "unknown"
    cause: str = ""

    @property
    def ok(self) -> bool:
        return not self.cause and not any(r.failed and r.required for r in self.rows)

    def verdict(self) -> str:
        if self.ok:
            return "a sync would work"
        failed = [r.endpoint for r in self.rows if r.failed and r.required]
        return "a sync would fail: " + (self.cause or "failed " + ", ".join(failed))

    def record(self) -> dict[str, Any]:
        """The row the caller keeps (the mirror's `doctor_runs`; the web page shows the latest)."""
        return {
            "run_at": self.run_at,
            "portal_url": self.portal_url,
            "server_version": self.server_version,
            "ok": int(self.ok),
            "cause": self.cause or ("" if self.ok else self.verdict()),
            "report_path": self.report_path,
            "result": self.to_json(),
        }

    def to_json(self) -> str:
        data = asdict(self)
        data["ok"] = self.ok
        return json.dumps(data, ensure_ascii=False, indent=1)


def variants(endpoint: str, raw: Any) -> list[str]:
    """The real variants (CONTRACT §7) an answer shows; the adapter accepts each."""
    found: list[str] = []
    if endpoint == "login":
        roles = (raw.get("accountInfo") or {}).get("userRoles") if isinstance(raw, dict) else None
        if roles == []:
            found.append("userRoles empty (role from context)")
        elif isinstance(roles, dict):
            found.append("userRoles as an object")
    elif endpoint == "subjectgroups" and isinstance(raw, list):
        if any(isinstance(g, dict) and g.get("teachers") is None for g in raw):
            found.append("no teachers (from subjectgroups/terms)")
        if any(
            isinstance(t, dict) for g in raw if isinstance(g, dict) for t in g.get("terms") or []
        ):
            found.append("terms as objects")
    elif endpoint == "grade/journal" and isinstance(raw, dict):
        for j in raw.get("journals") or []:
            if j.get("totals") is None:
                found.append("totals null")
            elif any("termId" not in t for t in j["totals"]):
                found.append("totals without termId")
            for key in ("marks", "attendance"):
                if key not in j:
                    found.append(f"no {key} key")
    elif endpoint == "subjectplans/getForSubjectGroup" and isinstance(raw, dict):
        if not raw.get("subjectPlanId"):
            found.append(f"no plan (subjectPlanId {raw.get('subjectPlanId')!r})")
    elif (
        endpoint == "student/diary/init"
        and isinstance(raw, dict)
        and any(s.get("classId") in (0, None) for s in raw.get("students") or [])
    ):
        found.append("classId 0 (no class)")
    return sorted(set(found))


class _Doctor:
    def __init__(
        self,
        client: PortalClient,
        recorder: Recorder,
        result: DoctorResult,
        access_required: bool = True,
    ) -> None:
        self.client = client
        self.rec = recorder
        self.result = result
        self.access_required = access_required  # [sync] fetch_access_report

    def add(self, endpoint: str, verdict: str, path: str | None = None, required=True) -> None:
        exchange = self.rec.last(path or endpoint)
        self.result.rows.append(
            Row(
                endpoint,
                exchange.status if exchange else None,
                round(exchange.seconds, 3) if exchange else None,
                verdict,
                required,
            )
        )

    async def sample(
        self,
        endpoint: str,
        parse: Callable[[Any], Any],
        params: dict | None = None,
        *,
        label: str | None = None,
        required: bool = True,
    ) -> Any:
        """GET one endpoint raw, then through its parse function; one row in the table."""
        name = label or endpoint
        try:
            raw = await self.client.get(endpoint, params)
        except AsursoSyncError as exc:
            self.add(name, f"failed: {exc}", endpoint, required)
            return None
        try:
            parsed = parse(raw)
        except LayoutError as exc:
            self.add(name, f"failed: {exc}", endpoint, required)
            return None
        found = variants(endpoint, raw)
        self.add(name, "tolerated: " + "; ".join(found) if found else "ok", endpoint, required)
        return parsed


async def _staff(doc: _Doctor, today: dt.date) -> None:
    client = doc.client
    context = await doc.sample("context", adapter.parse_context)
    year = await doc.sample("years/current", adapter.parse_year)
    year_id = (year or {}).get("id") or (context or {}).get("year_id")
    mine = await doc.sample("mysettings", adapter.parse_mysettings, required=False)
    selected = (mine or {}).get("year_id")
    if selected is not None and year_id is not None and selected != year_id:
        doc.result.rows[-1].verdict = (
            f"tolerated: the account's selected year is {selected}, not the current "
            f"{year_id} (the sync passes yearId)"
        )
    school_id = (context or {}).get("school_id") or client.school_id
    terms = await doc.sample("terms", adapter.parse_terms, {"yearId": year_id}) or []
    in_year = {"yearId": year_id}  # staff data otherwise follows the user's selected year
    await doc.sample(
        "calendar/vacations", lambda r: adapter.parse_vacations(r, year_id or 0), in_year
    )
    classes = await doc.sample(
        "classes", lambda r: adapter.parse_classes(r, year_id or 0), {"expand": "chiefs", **in_year}
    )
    subjects = await doc.sample("subjects", adapter.parse_subjects, in_year) or []
    await doc.sample("grade/assignment/types", adapter.parse_assignment_types, {"all": "true"})
    await doc.sample("grade/attendance/reasons", adapter.parse_attendance_reasons)
    await doc.sample(
        "school/settings", lambda r: adapter.parse_settings(r, year_id or 0), {"yearId": year_id}
    )
    await doc.sample(
        f"schools/{school_id}/card",
        lambda r: adapter.parse_card(r, school_id or 0),
        label="schools/{id}/card",
    )
    class_rows = (classes or {}).get("classes") or []
    if not class_rows:
        doc.add("subjectgroups", "failed: no class to sample (classes answered none)")
        return
    cid = class_rows[0]["id"]
    groups = await doc.sample(
        "subjectgroups",
        adapter.parse_subject_groups,
        {"classId": cid, "expand": "teachers,terms", **in_year},
    )
    await doc.sample(
        "grade/studentList", lambda r: adapter.parse_students(r, cid), {"classId": cid, **in_year}
    )
    sg = ((groups or {}).get("subject_groups") or [None])[0]
    if sg is None:
        doc.add("grade/journal", "failed: no subject group to sample")
        return
    if (groups or {}).get("teachers_unknown"):
        await doc.sample(
            "subjectgroups/terms",
            lambda r: adapter.parse_subject_group_terms(r, sg["id"]),
            {"classId": cid, "sgId": sg["id"], **in_year},
        )
    await doc.sample(
        "subjectplans/getForSubjectGroup",
        lambda r: adapter.parse_plan(r, sg["id"]),
        {"sgId": sg["id"], **in_year},
    )
    started = [t for t in terms if t["start_date"] <= today.isoformat()] or terms
    if started:
        term = started[-1]
        names = {s["id"]: s["name"] for s in subjects}
        await doc.sample(
            "grade/journal",
            lambda r: adapter.parse_journal(
                r,
                sg_id=sg["id"],
                term_id=term["id"],
                class_id=cid,
                subject_name=names.get(sg["subject_id"]),
            ),
            {
                "yearId": year_id,
                "classId": cid,
                "grade": -1,
                "sgId": sg["id"],
                "termId": term["id"],
            },
        )
    else:
        doc.add("grade/journal", "failed: the portal lists no terms")
    await _access_report(doc, cid, today)


async def _access_report(doc: _Doctor, class_id: int, today: dt.date) -> None:
    """The legacy ASP report (what the sync reads) and whether the newer report queue exists."""
    client = doc.client
    start = today - dt.timedelta(days=today.weekday() + 7)
    base = {"AT": client.at or "", "VER": client.ver or "", "RPTID": "JournalAccess"}
    legacy = False
    try:
        await client.post_html(
            "asp/Reports/ReportJournalAccess.asp", {**base, "RPNAME": "Доступ к журналу"}
        )
        page = await client.post_html(
            "asp/Reports/JournalAccess.asp",
            {
                **base,
                "LoginType": "0",
                "PCLID": str(class_id),
                "ADT": f"{start.day}.{start.month}.{start.year}",
                "DDT": f"{today.day}.{today.month}.{today.year}",
            },
        )
        rows = adapter.parse_access_report(page, class_id)
        layout = adapter.access_report_layout(page)
        verdict = "ok" if layout == "contract" else f"tolerated: layout {layout}"
        if not rows:
            verdict += " (no entries in the sampled week)"
        doc.add("JournalAccess.asp", verdict, "JournalAccess.asp", doc.access_required)
        legacy = True
    except AsursoSyncError as exc:
        doc.add("JournalAccess.asp", f"failed: {exc}", "JournalAccess.asp", doc.access_required)
    queue = False
    try:
        await client.get("reports/journalaccess")
        queue = True
    except AsursoSyncError:
        queue = False
    exchange = doc.rec.last("reports/journalaccess")
    doc.result.rows.append(
        Row(
            "reports/journalaccess (queue)",
            exchange.status if exchange else None,
            round(exchange.seconds, 3) if exchange else None,
            "ok" if queue else "skipped: not offered",
            required=False,
        )
    )
    doc.result.report_path = (
        "legacy ASP + report queue"
        if legacy and queue
        else "legacy ASP"
        if legacy
        else "report queue only (not read by asurso-sync)"
        if queue
        else "none"
    )


async def _family(doc: _Doctor, today: dt.date) -> None:
    children = await doc.sample("student/diary/init", adapter.parse_diary_init) or []
    year = await doc.sample("years/current", adapter.parse_year)
    await doc.sample("terms", adapter.parse_terms)
    if not children:
        doc.add("student/diary", "failed: the account has no pupils in its diary")
        return
    child = children[0]
    monday = today - dt.timedelta(days=today.weekday())
    await doc.sample(
        "student/diary",
        lambda r: adapter.parse_diary(r, student_id=child["id"], class_id=child["class_id"]),
        {
            "studentId": child["id"],
            "weekStart": monday.isoformat(),
            "weekEnd": (monday + dt.timedelta(days=6)).isoformat(),
            "yearId": (year or {}).get("id"),
        },
    )


async def _diagnose(
    settings: PortalSettings,
    login: str,
    password: str,
    recorder: Recorder,
    today: dt.date,
    session: dict[str, Any] | None,
    access_required: bool,
) -> DoctorResult:
    result = DoctorResult(
        portal_url=settings.base_url,
        run_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    client = PortalClient(
        settings, login, password, transport=recorder, backoff_s=0.2, session=session
    )
    async with client:
        try:
            await client.login()
        except AsursoSyncError as exc:
            text = str(exc)
            if "certificate" in text:
                result.tls = "failed: " + text
            result.cause = text
            result.server_version = client.server_version
            if isinstance(exc, AuthError) or "certificate" not in text:
                result.login = {"ok": False, "error": text, **_login_facts(client)}
            return result
        result.tls = "ok" if settings.base_url.startswith("https") else "not used (http://)"
        cert = recorder.certificate
        if cert:
            result.tls += (
                f" ({cert['tls_version']}; {cert['subject'] or '?'}, issued by "
                f"{cert['issuer'] or '?'}, valid until {cert['not_after']})"
            )
        result.login = {"ok": True, **_login_facts(client)}
        login_answer = recorder.last("webapi/login")
        if login_answer is not None:
            try:
                raw = json.loads(login_answer.body)
            except ValueError:
                raw = None
            found = variants("login", raw)
            result.rows.append(
                Row(
                    "login",
                    login_answer.status,
                    round(login_answer.seconds, 3),
                    "tolerated: " + "; ".join(found) if found else "ok",
                )
            )
        doc = _Doctor(client, recorder, result, access_required)
        family = is_family_role(client.role_name)
        if family:
            result.report_path = "not checked (a parent's or pupil's account has no reports)"
            await _family(doc, today)
        else:
            await _staff(doc, today)
        result.server_version = client.server_version
    return result


def _login_facts(client: PortalClient) -> dict[str, Any]:
    info = client.login_info
    return {
        "password_login": info.get("school_login"),
        "esia_login": info.get("esia_login"),
        "esia_main_auth": info.get("esia_main_auth"),
        "security_warning": client.security_warning,
        "role": client.role_name,
        "role_source": client.role_source,
        "roles": [r.get("name") for r in client.roles],
        "imported_session": client.imported,
    }


def base_transport(settings: PortalSettings) -> httpx.AsyncBaseTransport:
    """The network transport a sync uses, with the config's TLS trust and proxy."""
    return network_transport(settings)


def diagnose_configured(config: Config) -> tuple[DoctorResult, Recorder]:
    """`diagnose` with the configuration's portal, account (or imported session) and
    `[sync] fetch_access_report`: what `doctor` shows and `capture` records."""
    login, password, session = credentials(config)
    return diagnose(
        config.portal,
        login,
        password,
        session=session,
        access_required=config.sync.fetch_access_report,
    )


def diagnose(
    settings: PortalSettings,
    login: str,
    password: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    today: dt.date | None = None,
    session: dict[str, Any] | None = None,
    access_required: bool = True,
) -> tuple[DoctorResult, Recorder]:
    """Run every check once; returns the result and the recorded answers. `access_required`
    ([sync] fetch_access_report): whether a failing access report fails the verdict."""
    recorder = Recorder(transport or base_transport(settings))
    result = asyncio.run(
        _diagnose(
            settings,
            login,
            password,
            recorder,
            today or dt.date.today(),
            session,
            access_required,
        )
    )
    return result, recorder


def format_table(result: DoctorResult) -> str:
    """The administrator's table: endpoint · HTTP status · time · verdict."""
    lines = [
        f"portal     {result.portal_url}",
        f"TLS        {result.tls or '-'}",
        f"version    {result.server_version or 'not stated'}",
    ]
    facts = result.login
    if facts:
        yes = {True: "yes", False: "no", None: "not stated"}
        lines += [
            f"login      {'ok' if facts.get('ok') else 'failed'}"
            + (f" ({facts.get('error')})" if facts.get("error") else ""),
            f"  password login allowed: {yes[facts.get('password_login')]}; "
            f"ESIA offered: {yes[facts.get('esia_login')]}; "
            f"ESIA enforced: {yes[facts.get('esia_main_auth')]}",
            f"  SecurityWarning: {yes[facts.get('security_warning')]}; role: "
            f"{facts.get('role') or '-'} (from {facts.get('role_source') or '-'}); "
            f"roles: {', '.join(r for r in facts.get('roles') or [] if r) or '-'}",
        ]
    lines.append(f"reports    {result.report_path}")
    if result.rows:
        width = max(len(r.endpoint) for r in result.rows)
        lines.append("")
        lines.append(f"{'endpoint'.ljust(width)}  HTTP  time s  result")
        for r in result.rows:
            status = str(r.status) if r.status is not None else "-"
            took = f"{r.seconds:.3f}" if r.seconds is not None else "-"
            lines.append(f"{r.endpoint.ljust(width)}  {status:>4}  {took:>6}  {r.verdict}")
    lines.append("")
    lines.append(result.verdict())
    return "\n".join(lines)
