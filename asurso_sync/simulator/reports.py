"""The journal access report: the legacy ASP form and the windows-1251 HTML table (CONTRACT §5)."""

from __future__ import annotations

import datetime as dt
import html

from asurso_sync.simulator.model import School
from asurso_sync.simulator.served import View
from asurso_sync.simulator.state import Routes, Session, State
from asurso_sync.simulator.wsgi import Request, Response, html_response


def parse_dmy(text: str) -> dt.date:
    d, m, y = text.strip().split(".")
    return dt.date(int(y), int(m), int(d))


def report_session(session: Session | None) -> Response | None:
    if session is None or not session.is_staff:
        return html_response("<html><body>Доступ запрещён</body></html>", 403)
    return None


def report_form(st: State, req: Request, session: Session | None) -> Response:
    if (denied := report_session(session)) is not None:
        return denied
    options = "".join(
        f'<option value="{k.id}">{html.escape(k.name)}</option>'
        for k in sorted(st.school.classes.values(), key=lambda c: (c.grade, c.letter))
    )
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
        "<title>Доступ к классному журналу</title></head><body>"
        '<form method="post" action="/asp/Reports/JournalAccess.asp">'
        '<input type="hidden" name="RPTID" value="JournalAccess">'
        f'<select name="PCLID">{options}</select><input name="ADT"><input name="DDT"></form></body></html>'
    )
    return html_response(page, encoding="windows-1251", charset_header=False)


def report_journal_access(st: State, req: Request, session: Session | None) -> Response:
    if (denied := report_session(session)) is not None:
        return denied
    try:
        start = parse_dmy(req.arg("ADT") or "")
        end = parse_dmy(req.arg("DDT") or "")
    except ValueError:
        return html_response("<html><body>Неверный период</body></html>", 400)
    class_id = req.int_arg("PCLID")
    text = render_access_report(st.school, st.view, class_id, start, end)
    return html_response(text, encoding="windows-1251", charset_header=False)


def access_rows(
    school: School, view: View, class_id: int | None, start: dt.date, end: dt.date
) -> list[tuple[str, str, str, str]]:
    """(ФИО, Роль, Класс, dd.mm.yyyy HH:MM): the first entry per user, class and day."""
    lo, hi = start.isoformat(), (end + dt.timedelta(days=1)).isoformat()
    rows = []
    class_ids = [class_id] if class_id not in (None, -1) else sorted(school.classes)
    for cid in class_ids:
        if cid not in school.classes:
            continue
        seen: set[tuple[int, str]] = set()
        for when, staff_id in school.access.get(cid, []):
            if when < lo or when >= hi or when >= view.cut:
                continue
            key = (staff_id, when[:10])
            if key in seen:
                continue
            seen.add(key)
            person = school.staff[staff_id]
            stamp = f"{when[8:10]}.{when[5:7]}.{when[:4]} {when[11:16]}"
            rows.append((person.name, person.role, school.classes[cid].name, stamp))
    return rows


def render_access_report(
    school: School, view: View, class_id: int | None, start: dt.date, end: dt.date
) -> str:
    rows = access_rows(school, view, class_id, start, end)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>\n" for row in rows
    )
    klass = school.classes[class_id].name if class_id in school.classes else "Все классы"
    return (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
        "<title>Отчет о доступе к классному журналу</title></head><body>\n"
        f'<h5 class="report-title-school">{html.escape(school.short_name)}</h5>\n'
        '<h2 class="main-report-title">Отчет о доступе к классному журналу</h2>\n'
        '<table cellspacing="10px"><tr><td class="no-border"><span class="select"><b>Класс:</b> '
        f"{html.escape(klass)}</span></td></tr>"
        '<tr><td class="no-border"><span class="select"><b>Период:</b> '
        f"с {start.day}.{start.month:02d}.{start.year} по {end.day}.{end.month:02d}.{end.year}</span></td></tr></table>\n"
        '<table class="table-print">\n<tr><th>ФИО</th><th>Роль</th><th>Класс</th><th>Дата и время входа</th></tr>\n'
        f"{body}</table></body></html>"
    )


ROUTES: Routes = {
    ("POST", "/asp/Reports/ReportJournalAccess.asp"): report_form,
    ("POST", "/asp/Reports/JournalAccess.asp"): report_journal_access,
}
