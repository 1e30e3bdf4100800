"""Small drawing helpers shared by the generator's steps: entry times, ids, people's names."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

from asurso_sync.simulator import names as N
from asurso_sync.simulator.calendar import BELLS, LESSON_MINUTES

LETTERS = "абвгдеж"


def ts(day: dt.date, minutes: int) -> str:
    """A school-local entry time `minutes` after midnight of `day` (capped at 23:59)."""
    minutes = max(0, min(minutes, 23 * 60 + 59))
    return f"{day.isoformat()}T{minutes // 60:02d}:{minutes % 60:02d}:00"


def after_lesson(rng: random.Random, day: dt.date, number: int) -> str:
    """An entry time within ~3 hours after lesson `number` of `day` ends."""
    h, m = BELLS.get(number, (14, 0))
    return ts(day, h * 60 + m + LESSON_MINUTES + rng.randint(0, 200))


def some_time(rng: random.Random, day: dt.date) -> str:
    """An entry time during the working day (09:00–21:30)."""
    return ts(day, rng.randint(9 * 60, 21 * 60 + 30))


class Ids:
    """Consecutive ids after `start`."""

    def __init__(self, start: int) -> None:
        self.next = start

    def __call__(self) -> int:
        self.next += 1
        return self.next


def person(rng: random.Random, female: bool) -> str:
    """A full Russian name: surname, first name, patronymic."""
    if rng.random() < 0.06:
        last = rng.choice(N.SURNAMES_SKY)
        last = N.female_surname(last) if female else last
    else:
        last = rng.choice(N.SURNAMES)
        last = N.female_surname(last) if female else last
    first = rng.choice(N.FEMALE if female else N.MALE)
    return f"{last} {first} {N.patronymic(rng.choice(N.MALE), female)}"


def force(flags: list[str], fates: Sequence[str], rng: random.Random) -> None:
    """Make sure every fate occurs at least once (used for the small school)."""
    for fate in fates:
        if fate not in flags:
            free = [i for i, f in enumerate(flags) if f == "clean"]
            if free:
                flags[rng.choice(free)] = fate
