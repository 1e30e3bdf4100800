"""The journal access report: the legacy ASP form and the windows-1251 HTML page (CONTRACT §4).

Three layouts: the contract's log of entries (default, **[fixed here]**), and the vendor's two
real ones — `access_2013` (per class: the last change of marks per subject group) and
`access_2018` (one 7-column table of mark changes among two `table.table-print` tables).
"""

from __future__ import annotations

import datetime as dt
import html

from asurso_sync.simulator.model import Lesson, School
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
    ordered = sorted(st.school.classes.values(), key=lambda c: (c.grade, c.letter))
    options = "".join(f'<option value="{k.id}">{html.escape(k.name)}</option>' for k in ordered)
    if st.quirk("access_2013"):
        fields = (
            '<input type="hidden" name="RPTID" value="JournalAccess">'
            f'<select name="PCLID_IUP"><option value="-1">Все классы</option>{options}</select>'
        )
    else:
        rptid = "3" if st.quirk("access_2018") else "JournalAccess"
        fields = (
            f'<input type="hidden" name="RPTID" value="{rptid}">'
            f'<select name="PCLID">{options}</select><input name="ADT"><input name="DDT">'
        )
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
        "<title>Доступ к классному журналу</title></head><body>"
        f'<form method="post" action="/asp/Reports/JournalAccess.asp">{fields}</form></body></html>'
    )
    return html_response(page, encoding="windows-1251", charset_header=False)


def report_journal_access(st: State, req: Request, session: Session | None) -> Response:
    if (denied := report_session(session)) is not None:
        return denied
    if st.quirk("access_2013"):
        class_id = req.int_arg("PCLID_IUP")
        text = render_access_2013(st.school, st.view, class_id)
        return html_response(text, encoding="windows-1251", charset_header=False)
    adt, ddt = req.arg("ADT") or "", req.arg("DDT") or ""
    try:
        start = parse_dmy(adt) if adt else None
        end = parse_dmy(ddt) if ddt else None
    except ValueError:
        return html_response("<html><body>Неверный период</body></html>", 400)
    class_id = req.int_arg("PCLID")
    if st.quirk("access_2018"):
        text = render_access_2018(st.school, st.view, class_id, start, end)
    elif start is None or end is None:
        return html_response("<html><body>Неверный период</body></html>", 400)
    else:
        text = render_access_report(st.school, st.view, class_id, start, end)
    return html_response(text, encoding="windows-1251", charset_header=False)


def report_classes(school: School, class_id: int | None) -> list[int]:
    """The classes a report covers: one, or all (`-1` or none given), in grade/letter order."""
    if class_id not in (None, -1):
        return [class_id] if class_id in school.classes else []
    return [k.id for k in sorted(school.classes.values(), key=lambda c: (c.grade, c.letter))]


def mark_events(school: School, view: View, sg_id: int) -> list[tuple[str, str, Lesson]]:
    """(when, action, lesson) for every entry, change and deletion of a mark of the subject
    group served by the end of `view.as_of`, in time order."""
    cut = view.cut
    out = []
    for lesson in school.lessons_by_group.get(sg_id, ()):
        for a in school.assignments_by_lesson.get(lesson.id, ()):
            for m in school.marks_by_assignment.get(a.id, ()):
                for when, action in (
                    (m.date, "Выставление оценки"),
                    (m.changed_at, "Изменение оценки"),
                    (m.deleted_at, "Удаление оценки"),
                ):
                    if when is not None and when < cut:
                        out.append((when, action, lesson))
    out.sort(key=lambda e: (e[0], e[2].id))
    return out


def stamp(when: str, sep: str = " ") -> str:
    """`2025-12-08T14:05:00` -> `08.12.2025 14:05`."""
    return f"{when[8:10]}.{when[5:7]}.{when[:4]}{sep}{when[11:16]}"


def last_mark_changes(
    school: School, view: View, class_id: int
) -> list[tuple[str, str | None, str | None]]:
    """(subject group, dd.mm.yyyy HH:MM of the last change of its marks, who) per subject group
    of the class, by name; (name, None, None) for a group whose marks nobody touched yet."""
    rows: list[tuple[str, str | None, str | None]] = []
    groups = [g for g in school.groups.values() if g.class_id == class_id]
    for g in sorted(groups, key=lambda g: (g.name, g.id)):
        events = mark_events(school, view, g.id)
        if events:
            rows.append((g.name, events[-1][0], school.staff[g.teacher_ids[0]].nick))
        else:
            rows.append((g.name, None, None))
    return rows


def render_access_2013(school: School, view: View, class_id: int | None) -> str:
    """The vendor's JournalAccess.asp (2007–2013): per class a subtitle (class, class teacher)
    and a ThinTable Предмет · Дата последнего изменения оценок · Пользователь."""
    parts = [
        '<html><head><meta charset="windows-1251"></head><body>\n'
        '<h2 class="main-report-title">Отчет о доступе к классному журналу</h2>\n'
    ]
    for cid in report_classes(school, class_id):
        k = school.classes[cid]
        chief = school.staff[k.chief_id].name if k.chief_id in school.staff else ""
        parts.append(f'<div class="subtitle">{html.escape(k.name)}, {html.escape(chief)}</div>\n')
        parts.append(
            '<table class="ThinTable" border="1">\n'
            '<tr align="center" class="body" style="background-color: #eaeaea"><td>Предмет</td>'
            "<td>Дата последнего изменения оценок</td><td>Пользователь</td></tr>\n"
        )
        for name, when, who in last_mark_changes(school, view, cid):
            if when is None or who is None:
                cells = "<td align='center'>-</td><td align='center'>-</td>"
            else:
                cells = f"<td align='right'>{stamp(when, '&nbsp;')}</td><td>{html.escape(who)}</td>"
            parts.append(f"<tr><td>{html.escape(name)}</td>{cells}</tr>\n")
        parts.append("</table><br/>")
    parts.append("</body></html>")
    return "".join(parts)


def access_2018_rows(
    school: School,
    view: View,
    class_id: int | None,
    start: dt.date | None,
    end: dt.date | None,
) -> list[tuple[str, str, str, str, str, str, str]]:
    """(класс, предмет, дата, пользователь, дата урока, период, действие): every change of
    marks in [start, end] (the whole year up to the clock when no dates are given)."""
    lo = start.isoformat() if start else ""
    hi = (end + dt.timedelta(days=1)).isoformat() if end else "9999"
    terms = {t.id: t.name for t in school.calendar.terms}
    rows = []
    for cid in report_classes(school, class_id):
        k = school.classes[cid]
        groups = sorted(
            (g for g in school.groups.values() if g.class_id == cid), key=lambda g: g.id
        )
        for g in groups:
            subject = school.subjects[g.subject_id].name
            who = school.staff[g.teacher_ids[0]].nick
            for when, action, lesson in mark_events(school, view, g.id):
                if lo <= when < hi:
                    day = lesson.date
                    rows.append(
                        (
                            k.name,
                            subject,
                            stamp(when),
                            who,
                            f"{day.day:02d}.{day.month:02d}.{day.year}",
                            terms[lesson.term_id],
                            action,
                        )
                    )
    rows.sort(key=lambda r: (r[2][6:10], r[2][3:5], r[2][:2], r[2][11:], r[0], r[1]))
    return rows


def render_access_2018(
    school: School,
    view: View,
    class_id: int | None,
    start: dt.date | None,
    end: dt.date | None,
) -> str:
    """The 2018 layout: a year table, then the 7-column data table (both `table.table-print`)."""
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>\n"
        for row in access_2018_rows(school, view, class_id, start, end)
    )
    head = "".join(
        f"<th>{h}</th>"
        for h in ("Класс", "Предмет", "Дата", "Пользователь", "Дата урока", "Период", "Действие")
    )
    return (
        '<html><head><meta charset="windows-1251"></head><body>\n'
        '<h2 class="main-report-title">Отчет о доступе к классному журналу</h2>\n'
        f'<table class="table-print"><tr><td>Учебный год: {school.calendar.name}</td></tr></table>\n'
        f'<table class="table-print"><tr>{head}</tr>\n{body}</table></body></html>'
    )


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
