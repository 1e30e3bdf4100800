"""Z-1 in D1 and D2: «ежемесячно и по окончании учебных периодов устраняет замечания в ЭЖ,
отмеченные заместителем директора по УВР» (п. 7.4). A remark still open `[rules] fix_days` after
the check first found it is «не устранено в срок»: marked in the teacher's list with its fix-by
date and the days overdue, counted per teacher in the school's report. And п. 7.4's КЭС: when the
check could not check them (R17's notice), both documents say so.
"""

from __future__ import annotations

import datetime as dt
import re

from mirror_factory import MirrorFactory
from rendered import one, read_csv

from asurso_sync.documents import render
from asurso_sync.documents.common import KES_NOTICE
from asurso_sync.documents.settings import ReportSettings
from asurso_sync.rules import check, parse_rule_settings

RULES = ["R01", "R02", "R17"]
# 20.11.2025 12:00 in Samara: the day the lists are issued
ISSUED = dt.datetime(2025, 11, 20, 8, 0, tzinfo=dt.UTC)
D1_HEAD = ["№", "правило", "дата", "класс", "предмет", "вид задания", "что не так", "учеников",
           "ученики", "обнаружено", "срок", "источник срока", "устранить до", "статус",
           "просрочено, дней"]  # fmt: skip


def escalation_school(kes: bool = False, **rules) -> MirrorFactory:
    """A topic missing on 10.09 (R01, first found by the check of 15.09, still open) and
    homework missing on 10.11 (R02, first found by the check of 12.11): the first is past a
    30-day fix-by on 20.11, the second is not. With `kes`, the КТП carries КЭС."""
    f = MirrorFactory()
    f.lesson("2025-09-10", topic=None)
    f.lesson("2025-11-10", homework=None)
    if kes:
        f.plan(lessons=[("Натуральные числа", 1, "2025-09-10", "§1")])
        f.db.execute("UPDATE plan_lessons SET kes = '1.1'")
    settings = parse_rule_settings(rules)
    check(f.db, settings, dt.date(2025, 9, 15), RULES, now=ISSUED)
    check(f.db, settings, dt.date(2025, 11, 12), RULES, now=ISSUED)
    return f


def test_z1_a_remark_past_its_fix_by_date_is_marked_in_d1_with_the_days_overdue(tmp_path):
    f = escalation_school()
    paths = render(f.db, "D1", tmp_path, month="2025-11", teacher="Петрова", now=ISSUED)
    rows = read_csv(one(paths, ".remarks.csv"))
    setting = "по настройке школы ([rules] {})"
    group = str(f.sg_id)  # the factory's group has no name of its own
    assert rows == [
        D1_HEAD,
        # found 15.09 + 30 days = 15.10; on 20.11 thirty-six days overdue
        ["1", "R01", "10.09.2025", "5а", group, "", "Тема урока не указана", "0", "",
         "15.09.2025", "10.09.2025", setting.format("topic_days"), "15.10.2025",
         "не устранено в срок (срок устранения 15.10.2025), просрочено на 36 дн.", "36"],
        # found 12.11 + 30 days = 12.12: inside its window, not escalated
        ["2", "R02", "10.11.2025", "5а", group, "", "Домашнее задание не задано", "0", "",
         "12.11.2025", "10.11.2025", setting.format("hw_days"), "12.12.2025", "новое", ""],
    ]  # fmt: skip
    html = one(paths, ".html").read_text(encoding="utf-8")
    assert "<b>Не устранено в срок: 1</b>" in html
    assert "Устранить до:</td><td>в течение <b>30 дн.</b> с обнаружения" in html
    late = re.findall(r'<tr class="late">(.*?)</tr>', html, re.S)
    assert [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in late] == [
        ["1", "10.09.2025", "5а", str(f.sg_id), "Тема урока не указана", "", "", "10.09.2025",
         "15.10.2025", "не устранено в срок (36 дн.)"]
    ]  # fmt: skip


def test_z1_fix_days_is_the_rules_setting_one_source_for_d1_and_the_check(tmp_path):
    f = escalation_school()
    settings = ReportSettings(rules=parse_rule_settings({"fix_days": 60}))
    paths = render(f.db, "D1", tmp_path, month="2025-11", teacher="Петрова", now=ISSUED,
                   settings=settings)  # fmt: skip
    rows = read_csv(one(paths, ".remarks.csv"))
    # 15.09 + 60 = 14.11 (six days overdue on 20.11); 12.11 + 60 = 11.01.2026
    assert [r[12:] for r in rows[1:]] == [
        [
            "14.11.2025",
            "не устранено в срок (срок устранения 14.11.2025), просрочено на 6 дн.",
            "6",
        ],
        ["11.01.2026", "новое", ""],
    ]
    html = one(paths, ".html").read_text(encoding="utf-8")
    assert "<b>60 дн.</b> с обнаружения" in html


def teacher_totals(html: str) -> list[list[str]]:
    """D2's «Итого» row of each teacher, cell by cell."""
    found = re.findall(r'<tr class="total"><td colspan="2">(.*?)</tr>', html, re.S)
    return [
        [re.sub(r"\s+", " ", c).strip() for c in re.findall(r"(?:^|<td[^>]*>)(.*?)</td>", row)]
        for row in found
    ]


def class_rows(html: str) -> list[list[str]]:
    """D2's «По классам» table, row by row (the school's total last)."""
    table = html[html.index("<h2>2. По классам</h2>") :]
    table = table[: table.index("</table>")]
    return [
        [re.sub(r"\s+", " ", c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)
    ]


def test_z1_d2_counts_the_overdue_remarks_per_teacher(tmp_path):
    f = escalation_school()
    paths = render(f.db, "D2", tmp_path, month="2025-11", now=ISSUED)
    html = one(paths, ".html").read_text(encoding="utf-8")
    # lessons, topic n/%, homework n/%, task n/%, absence, marks, late, КТП, просрочено
    assert teacher_totals(html) == [
        ["Итого: Петрова Мария Ивановна (динамика —)", "1", "1", "100,0", "0", "0,0", "1",
         "100,0", "0", "0", "0", "отст. 0", "1"],
    ]  # fmt: skip
    assert "открытые дольше 30 дн. с обнаружения, по школе: 1." in html
    # the same count per class, beside the school's total
    assert class_rows(html) == [
        ["Класс", "Уроков", "С темой, %", "С ДЗ, %", "С заданием, %", "Оценок", "С опозданием",
         "Не устранено в срок", "Динамика"],
        ["5а", "1", "100,0", "0,0", "100,0", "0", "0", "1", "—"],
        ["По школе", "1", "100,0", "0,0", "100,0", "0", "0", "1", "—"],
    ]  # fmt: skip
    groups = read_csv(one(paths, ".groups.csv"))
    assert [groups[0][0], groups[0][-1]] == ["учитель", "просрочено"]
    assert [[r[0], r[2], r[-1]] for r in groups[1:]] == [
        ["Петрова Мария Ивановна", str(f.sg_id), "1"]
    ]
    # on R01's fix-by date itself nothing is overdue yet
    early = dt.datetime(2025, 10, 15, 8, 0, tzinfo=dt.UTC)
    html = one(render(f.db, "D2", tmp_path / "early", month="2025-10", now=early), ".html")
    assert [r[-1] for r in teacher_totals(html.read_text(encoding="utf-8"))] == ["0"]


def test_7_4_kes_not_checkable_is_said_in_d1_and_d2_exactly_when_the_check_noticed(tmp_path):
    assert KES_NOTICE == (
        "КЭС в КТП не проверялись: портал не передаёт их в планировании уроков (п. 7.4)."
    )
    for kes, expected in ((False, 1), (True, 0)):
        f = escalation_school(kes=kes)
        notices = f.db.execute("SELECT notices FROM check_runs ORDER BY id DESC").fetchone()[0]
        assert ("КЭС" in notices) is not kes
        for kind in ("D1", "D2"):
            out = tmp_path / f"{kind}-{kes}"
            paths = render(f.db, kind, out, month="2025-11", teacher="Петрова", now=ISSUED)
            html = one(paths, ".html").read_text(encoding="utf-8")
            assert html.count(KES_NOTICE) == expected, (kind, kes)
