"""Colour on a terminal, and exactly the plain bytes everywhere else (the real CLI under a pseudo-terminal)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecrm_dsl.cli import paint
from ecrm_dsl.cli.terminal import wants_color
from tests.pty_cli import ROOT, clean_env, run_ecrm, run_piped

ESC = b"\x1b["


def crlf(data: bytes) -> bytes:
    """A terminal's output as a pipe would have it (the terminal turns each newline into CR LF)."""
    return data.replace(b"\r\n", b"\n")


@pytest.fixture(scope="module")
def broken_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The starter project with a misspelt attribute and template in its scenario (two errors with hints)."""
    root = tmp_path_factory.mktemp("term") / "shop"
    assert run_piped("init", str(root), cwd=root.parent).returncode == 0
    scenario = root / "scenarios" / "f2_step_mail.ecrm"
    text = scenario.read_text(encoding="utf-8")
    text = text.replace("customer.order_count == 1", "customer.ordr_count == 1")
    scenario.write_text(text.replace("send email thanks_first", "send email thanks_frist"), encoding="utf-8")
    return root


def test_a_pipe_gets_plain_text_and_a_terminal_the_same_words_in_colour(broken_project: Path) -> None:
    piped = run_piped("lint", cwd=broken_project)
    assert piped.returncode == 1
    assert ESC not in piped.stdout
    assert b"scenarios/f2_step_mail.ecrm:6:27: error: unknown attribute customer.ordr_count" in piped.stdout

    shown = run_ecrm("lint", cwd=broken_project)
    assert shown.code == 1
    assert b"\x1b[1;31merror\x1b[0m" in shown.terminal  # the severity in red
    assert b"\x1b[2m[E204 unknown-attribute]\x1b[0m" in shown.terminal  # the code dim
    assert b"\x1b[1mscenarios/f2_step_mail.ecrm:6:27\x1b[0m" in shown.terminal  # file:line:col, whole, bold
    assert paint.plain(crlf(shown.terminal).decode()) == piped.stdout.decode()


def test_no_color_is_respected_on_a_terminal(broken_project: Path) -> None:
    piped = run_piped("lint", cwd=broken_project)
    for env in (clean_env(NO_COLOR="1"), clean_env(NO_COLOR="1", FORCE_COLOR="1"), clean_env(TERM="dumb")):
        shown = run_ecrm("--color", "auto", "lint", cwd=broken_project, env=env)
        assert shown.code == 1
        assert crlf(shown.terminal) == piped.stdout  # byte for byte what a pipe gets


def test_the_color_option_wins_over_the_environment_and_the_stream(broken_project: Path) -> None:
    plain = run_piped("lint", cwd=broken_project).stdout
    always = run_piped("--color", "always", "lint", cwd=broken_project, env=clean_env(NO_COLOR="1"))
    assert ESC in always.stdout
    assert paint.plain(always.stdout.decode()) == plain.decode()
    never = run_ecrm("--color", "never", "lint", cwd=broken_project, env=clean_env(FORCE_COLOR="1"))
    assert crlf(never.terminal) == plain
    forced = run_piped("lint", cwd=broken_project, env=clean_env(FORCE_COLOR="1"))
    assert ESC in forced.stdout


def test_findings_on_standard_error_are_coloured_by_that_streams_terminal(broken_project: Path) -> None:
    # compile prints the findings that refuse the plan on stderr: colour there only when stderr is the terminal.
    on_terminal = run_ecrm("compile", cwd=broken_project, stdout_tty=False)
    assert on_terminal.code == 1
    assert b"\x1b[1;31merror\x1b[0m" in on_terminal.terminal
    piped = run_ecrm("compile", cwd=broken_project, stderr_tty=False)
    assert piped.code == 1
    assert ESC not in piped.stderr and b"error: unknown template 'thanks_frist'" in piped.stderr


@pytest.mark.parametrize(
    ("choice", "environ", "terminal", "expected"),
    [
        ("auto", {}, True, True),
        ("auto", {}, False, False),
        ("auto", {"NO_COLOR": "1"}, True, False),
        ("auto", {"NO_COLOR": "0"}, True, False),  # any value (no-color.org)
        ("auto", {"NO_COLOR": ""}, True, True),  # but an empty one is not set
        ("auto", {"FORCE_COLOR": "1"}, False, True),
        ("auto", {"FORCE_COLOR": "0"}, False, False),
        ("auto", {"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),
        ("auto", {"TERM": "dumb"}, True, False),
        ("always", {"NO_COLOR": "1"}, False, True),
        ("never", {"FORCE_COLOR": "1"}, True, False),
    ],
)
def test_when_colour_is_on(choice: str, environ: dict[str, str], terminal: bool, expected: bool) -> None:
    class Stream:
        def isatty(self) -> bool:
            return terminal

    assert wants_color(Stream(), choice, environ) is expected  # type: ignore[arg-type]


DIFF_GOLDEN = ROOT / "tests" / "golden" / "diff" / "f2_release" / "expected.txt"


def test_painters_only_add_colour_codes(broken_project: Path) -> None:
    lint_text = run_piped("lint", cwd=broken_project).stdout.decode()
    diff_text = DIFF_GOLDEN.read_text(encoding="utf-8")
    report_like = "ecrm report — a.db (Asia/Tokyo)\n\nF2 conversion: 12%\n\nf2_step_mail — 初回購入\n  entered 5\n"
    for painter, text in (
        (paint.findings, lint_text),
        (paint.diff, diff_text),
        (paint.headings, report_like),
        (paint.report, report_like + "  by phase:\n  warning: few\n    verdict: not supported — below\n"),
        (paint.status, report_like),
    ):
        painted = painter(text)
        assert painted != text
        assert paint.plain(painted) == text


def test_diff_text_colours_what_happened() -> None:
    painted = paint.diff(DIFF_GOLDEN.read_text(encoding="utf-8"))
    assert "\x1b[1mscenario birthday_coupon: \x1b[0m\x1b[1;32madded\x1b[0m" in painted
    assert "\x1b[1;31mremoved\x1b[0m" in painted
    assert "  - wait_1h: \x1b[31mwait 1h\x1b[0m → \x1b[32m2h (1 hour later)\x1b[0m" in painted


def test_status_on_a_terminal(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    assert run_piped("init", str(root), cwd=tmp_path).returncode == 0
    assert run_piped("deploy", "--now", "2025-03-01T09:00+09:00", cwd=root).returncode == 0
    args = ("status", "--now", "2025-03-01T10:00+09:00")
    piped = run_piped(*args, cwd=root)
    assert piped.returncode == 0 and ESC not in piped.stdout
    shown = run_ecrm(*args, cwd=root)
    first = piped.stdout.decode().splitlines()[0]
    assert first.startswith("deployment #1 at 2025-03-01 09:00")
    assert f"\x1b[1m{first}\x1b[0m".encode() in shown.terminal
    assert paint.plain(crlf(shown.terminal).decode()) == piped.stdout.decode()


def test_report_and_simulate_text_on_a_terminal(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    assert run_piped("init", str(root), cwd=tmp_path).returncode == 0
    demo = ("demo", "--customers", "10", "--days", "3", "--store", "demo.db", "--outbox", "out")
    assert run_piped(*demo, cwd=root).returncode == 0
    for args in (
        ("report", "--store", "demo.db"),
        ("simulate", "--from", "2025-03-01", "--to", "2025-03-02", "--store", "demo.db", "--out", "sim.db"),
    ):
        piped = run_piped(*args, cwd=root)
        assert piped.returncode == 0, piped.stderr
        assert ESC not in piped.stdout
        shown = run_ecrm(*args, cwd=root, stderr_tty=False)  # stdout the terminal; simulate's stderr lines apart
        assert shown.code == 0
        title = piped.stdout.decode().splitlines()[0]
        assert f"\x1b[1m{title}\x1b[0m".encode() in shown.terminal
        assert paint.plain(crlf(shown.terminal).decode()) == piped.stdout.decode()


def test_only_the_cli_talks_to_the_terminal_through_rich() -> None:
    # Below the CLI, progress is a plain callback: the importer, simulate and demo never load rich.
    from tests.test_layering import imports, layer, modules

    users = {i.module for path in modules() for i in imports(path) if i.target.split(".")[0] == "rich"}
    assert users and {layer(m) for m in users} == {"cli"}


def test_a_pipe_never_loads_rich(broken_project: Path) -> None:
    from tests.test_cli_lazy import _modules_after

    code, modules = _modules_after(["lint"], broken_project)
    assert code == 1
    assert "ecrm_dsl.cli.paint" in modules and not [m for m in modules if m.split(".")[0] == "rich"]
    code, modules = _modules_after(["--color", "always", "lint"], broken_project)
    assert code == 1 and "rich.style" in modules
