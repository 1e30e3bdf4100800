"""`asurso-sync capture`: what `doctor` fetched, raw, with every person pseudonymised.

A school sends the zip to the project; a developer turns it into fixtures (`to_fixtures`).
Kept: status, content type, keys, types, nulls, ids, dates of lessons and marks. Dropped:
headers and cookies, the `at` and every other token, salts and password hashes (request bodies
are never recorded). Replaced: every person's name, login, e-mail, phone and birth date, by a
stable pseudonym (the same person gets the same one in every file, in JSON and in HTML, in the
full, short «Фамилия И.О.» and «Фамилия Имя» forms). `mask_text` also masks free text (topics,
homework, comments).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from asurso_sync.errors import LayoutError
from asurso_sync.portal import adapter
from asurso_sync.portal.doctor import DoctorResult, Exchange

# Keys whose value identifies a person wherever they appear.
PERSON_KEYS = {
    "fullname",
    "nickname",
    "fio",
    "firstname",
    "lastname",
    "middlename",
    "username",
    "director",
    "principaluvr",
    "principalahc",
    "principalit",
    "teachername",
    "author",
}
LOGIN_KEYS = {"login", "loginname", "un", "windowsaccount"}
CONTACT_KEYS = {"email", "mobilephone", "phone", "phones", "homephone", "workphone"}
BIRTH_KEYS = {"birthdate", "birthday"}
# `name` is a person's name inside these objects (and a class's or subject's name elsewhere).
PERSON_CONTAINERS = {
    "user",
    "users",
    "teacher",
    "teachers",
    "chiefs",
    "students",
    "author",
    "lastaccess",
    "parents",
    "student",
}
SECRET_KEYS = {
    "at",
    "accesstoken",
    "refreshtoken",
    "secureactivetoken",
    "activetoken",
    "atlist",
    "salt",
    "lt",
    "ver",
    "pw",
    "pw2",
    "password",
    "token",
    "code",
    "securekey",
}
FREE_TEXT_KEYS = {
    "assignmentname",
    "lessonname",
    "homeassignment",
    "description",
    "comment",
    "comments",
    "topic",
    "text",
    "about",
    "name_of_work",
}
SURNAME, FIRST, PATRONYMIC = (
    ["Алексеев", "Борисов", "Васильев", "Григорьев", "Дмитриев", "Егоров", "Жуков", "Зайцев"],
    ["Антон", "Богдан", "Виктор", "Глеб", "Денис", "Егор", "Захар", "Илья"],
    ["Андреевич", "Борисович", "Викторович", "Глебович", "Денисович", "Егорович"],
)
NAME_RE = re.compile(r"^[А-ЯЁ][а-яё\-]+(?: [А-ЯЁ][а-яё\-]+){1,2}(?: \d+)?$")


class Pseudonyms:
    """Stable replacements: the same person (by full name) gets the same pseudonym."""

    def __init__(self, mask_text: bool = False) -> None:
        self.mask_text = mask_text
        self.people: dict[str, str] = {}
        self.others: dict[str, str] = {}

    def person(self, name: str) -> str:
        name = " ".join(name.split())
        if not name:
            return name
        if name not in self.people:
            n = len(self.people)
            self.people[name] = (
                f"{SURNAME[n % 8]}{n // 8 or ''} {FIRST[(n // 3) % 8]} {PATRONYMIC[n % 6]}"
            )
        return self.people[name]

    def other(self, kind: str, value: str) -> str:
        key = f"{kind}:{value}"
        if key not in self.others:
            n = len([k for k in self.others if k.startswith(kind + ":")]) + 1
            self.others[key] = {
                "login": f"user{n}",
                "contact": f"contact{n}@example.invalid",
                "birth": "2000-01-01T00:00:00",
            }[kind]
        return self.others[key]

    def variants(self) -> list[tuple[str, str]]:
        """(real, pseudonym) pairs of every form a name is printed in, longest first."""
        pairs: dict[str, str] = {}
        for real, fake in self.people.items():
            pairs[real] = fake
            r, f = real.split(), fake.split()
            if len(r) >= 2 and len(f) >= 2:
                pairs[" ".join(r[:2])] = " ".join(f[:2])
                initials = "".join(p[0] + "." for p in r[1:3] if p)
                fake_initials = "".join(p[0] + "." for p in f[1:3])
                pairs[f"{r[0]} {initials}"] = f"{f[0]} {fake_initials}"
                pairs[f"{r[0]} {' '.join(p[0] + '.' for p in r[1:3])}"] = (
                    f"{f[0]} {' '.join(p[0] + '.' for p in f[1:3])}"
                )
        return sorted(pairs.items(), key=lambda kv: -len(kv[0]))

    def scrub_text(self, value: str) -> str:
        for real, fake in self.variants():
            value = value.replace(real, fake)
        return value


def _mask(value: Any) -> Any:
    if isinstance(value, str) and value:
        return f"[текст, {len(value)} симв.]"
    return value


def pseudonymise(data: Any, names: Pseudonyms, parent: str = "") -> Any:
    """A JSON answer with people replaced, secrets removed, ids/keys/types/nulls kept."""
    if isinstance(data, list):
        return [pseudonymise(item, names, parent) for item in data]
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        low = key.lower()
        if low in SECRET_KEYS and value not in (None, "", 0):
            out[key] = "x" if isinstance(value, str) else None
        elif isinstance(value, str) and (
            low in PERSON_KEYS or (low == "name" and parent in PERSON_CONTAINERS)
        ):
            out[key] = names.person(value)
        elif isinstance(value, str) and low in LOGIN_KEYS:
            out[key] = names.other("login", value)
        elif isinstance(value, str) and low in CONTACT_KEYS:
            out[key] = names.other("contact", value)
        elif isinstance(value, str) and low in BIRTH_KEYS:
            out[key] = names.other("birth", value)
        elif names.mask_text and low in FREE_TEXT_KEYS:
            out[key] = _mask(value)
        else:
            out[key] = pseudonymise(value, names, low)
    return out


def _html_people(body: bytes, names: Pseudonyms) -> None:
    """Register the people of an access report page (its user columns) before scrubbing."""
    try:
        rows = adapter.parse_access_report(body, -1)
    except LayoutError:
        rows = []
    for row in rows:
        names.person(row["user_name"])
    for match in re.finditer(r"<td[^>]*>([^<]{5,80})</td>", _decode(body)):
        cell = match.group(1).strip()
        if NAME_RE.match(cell):
            names.person(cell)


def _decode(body: bytes) -> str:
    head = body[:2048].decode("ascii", errors="ignore").lower()
    if "windows-1251" in head:
        try:
            return body.decode("windows-1251")
        except UnicodeDecodeError:
            pass
    return body.decode("utf-8", errors="replace")


def _name_of(index: int, exchange: Exchange) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", exchange.path.strip("/")).strip("_")[:60]
    return f"{index:03d}_{exchange.method}_{slug}.json"


def build_capture(
    result: DoctorResult, exchanges: list[Exchange], *, mask_text: bool = False
) -> dict[str, bytes]:
    """The capture's files (name → bytes): one JSON per answer and `manifest.json`."""
    names = Pseudonyms(mask_text)
    bodies: list[Any] = []
    for exchange in exchanges:  # first pass: learn every person from the JSON answers
        try:
            parsed = json.loads(exchange.body) if "json" in exchange.content_type else None
        except ValueError:
            parsed = None
        if parsed is not None:
            parsed = pseudonymise(parsed, names)
        elif "html" in exchange.content_type:
            _html_people(exchange.body, names)
        bodies.append(parsed)
    files: dict[str, bytes] = {}
    manifest = []
    for index, (exchange, parsed) in enumerate(zip(exchanges, bodies, strict=True), 1):
        if exchange.path.endswith(("/auth/getdata", "/webapi/login")) and parsed is None:
            parsed = {}
        entry: dict[str, Any] = {"status": exchange.status, "content_type": exchange.content_type}
        if parsed is not None:
            entry["json"] = json.loads(names.scrub_text(json.dumps(parsed, ensure_ascii=False)))
        elif exchange.body:
            entry["text"] = names.scrub_text(_decode(exchange.body))
            if mask_text and "html" in exchange.content_type:
                entry["text"] = re.sub(r"(?<=<td>)[^<]{30,}(?=</td>)", "[текст]", entry["text"])
        else:
            entry["text"] = ""
        name = _name_of(index, exchange)
        params = {k: v for k, v in exchange.params.items() if k.lower() not in SECRET_KEYS}
        files[name] = json.dumps(entry, ensure_ascii=False, indent=1).encode("utf-8")
        manifest.append(
            {
                "file": name,
                "method": exchange.method,
                "path": exchange.path,
                "params": params,
                "status": exchange.status,
                "content_type": exchange.content_type,
                "seconds": round(exchange.seconds, 3),
            }
        )
    files["manifest.json"] = json.dumps(
        {
            "tool": "asurso-sync capture",
            "portal_url": result.portal_url,
            "portal_version": result.server_version,
            "captured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "doctor_ok": result.ok,
            "doctor_rows": [
                {"endpoint": r.endpoint, "status": r.status, "verdict": names.scrub_text(r.verdict)}
                for r in result.rows
            ],
            "text_masked": mask_text,
            "people_pseudonymised": len(names.people),
            "endpoints": manifest,
        },
        ensure_ascii=False,
        indent=1,
    ).encode("utf-8")
    return files


def write_capture(path: Path, files: dict[str, bytes]) -> None:
    """The zip, written to a temporary name, 0600, then renamed into place."""
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    tmp.chmod(0o600)
    tmp.replace(path)


def to_fixtures(capture: Path, folder: Path) -> list[Path]:
    """A capture → one fixture file per answer (`<endpoint>_<n>.json` or `.html`) and a README
    table in the style of tests/fixtures/real/. Returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with zipfile.ZipFile(capture) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        version = manifest.get("portal_version") or "unknown"
        lines = [
            f"# Captured from {manifest.get('portal_url')} (version {version}, "
            f"{manifest.get('captured_at')}), pseudonymised by asurso-sync capture",
            "",
            "| file | endpoint | status |",
            "|---|---|---|",
        ]
        seen: dict[str, int] = {}
        for item in manifest["endpoints"]:
            entry = json.loads(zf.read(item["file"]))
            slug = re.sub(r"[^A-Za-z0-9]+", "_", item["path"].removeprefix("/webapi/")).strip("_")
            seen[slug] = seen.get(slug, 0) + 1
            stem = f"captured_{slug}_{seen[slug]}"
            if "json" in entry:
                target = folder / f"{stem}.json"
                target.write_text(
                    json.dumps(entry["json"], ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
                )
            else:
                target = folder / f"{stem}.html"
                target.write_text(entry.get("text", ""), encoding="utf-8")
            written.append(target)
            lines.append(
                f"| `{target.name}` | {item['method']} {item['path']} | {item['status']} |"
            )
        readme = folder / "README.captured.md"
        readme.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written.append(readme)
    return written


def digest(files: dict[str, bytes]) -> str:
    """A short fingerprint of a capture's contents (for the manifest line the CLI prints)."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode())
        h.update(files[name])
    return h.hexdigest()[:12]
