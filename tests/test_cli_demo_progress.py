"""`demo` logs which step it is on (stderr, one line per step with its number); -q silences it."""

from __future__ import annotations

from unittest.mock import patch

from click.testing import CliRunner

from asurso_sync.cli import cli
from asurso_sync.demo import DemoContext


def _steps():
    def one(ctx: DemoContext) -> None:
        ctx.say("one: done")

    def two(ctx: DemoContext) -> None:
        ctx.say("two: done")

    return [("one", one), ("two", two)]


def test_demo_prints_a_line_per_step_and_its_summary(tmp_path):
    with patch("asurso_sync.demo.STEPS", _steps()):
        result = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert result.stdout == "one: done\ntwo: done\n"
    progress = [ln.split(" asurso_sync.demo: ")[1] for ln in result.stderr.splitlines()]
    assert [ln.split(" (")[0] for ln in progress] == ["demo 1/2: one", "demo 2/2: two"]
    assert all(ln.endswith(" s so far)") for ln in progress)


def test_demo_progress_is_quiet_under_q(tmp_path):
    with patch("asurso_sync.demo.STEPS", _steps()):
        result = CliRunner().invoke(cli, ["-q", "demo", "--out", str(tmp_path / "d")])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "one: done\ntwo: done\n", "")
