"""Progress bars on a terminal's standard error during import, simulate, demo and slow ticks, and not one byte
of them in a pipe (the real CLI under a pseudo-terminal)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.pty_cli import clean_env, run_ecrm, run_in_pty, run_piped

SECONDS = re.compile(rb"\d+\.\d+s")  # how long something took: the one thing two runs may not agree on
BAR = "━".encode()  # rich's bar


def same_but_timings(a: bytes, b: bytes) -> bool:
    return SECONDS.sub(b"Ns", a) == SECONDS.sub(b"Ns", b)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A starter project and a customers file of 4,500 rows (several batches of the import)."""
    root = tmp_path_factory.mktemp("progress") / "shop"
    assert run_piped("init", str(root), cwd=root.parent).returncode == 0
    rows = ["id,name,signed_up_at"] + [f"c{i},顧客{i},2025-01-01T10:00:00+09:00" for i in range(4500)]
    (root / "customers.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


def test_import_shows_rows_and_rate_on_the_terminal_and_nothing_in_a_pipe(shop: Path) -> None:
    args = ("import", "customers", "customers.csv", "--dry-run")
    shown = run_ecrm(*args, cwd=shop, stdout_tty=False)  # stderr is the terminal, stdout a pipe
    assert shown.code == 0
    assert b"customers from customers.csv" in shown.terminal and BAR in shown.terminal
    assert re.search(rb"4,000 rows, [\d,]+ rows/s", shown.terminal)
    assert re.search(rb"ecrm import: read 4,500 rows in \d+\.\ds \([\d,]+ rows/s\)\r\n$", shown.terminal)

    piped = run_piped(*args, cwd=shop)
    assert piped.returncode == 0
    assert piped.stderr == b""  # no bar, no summary
    assert same_but_timings(shown.stdout, piped.stdout)
    assert piped.stdout.startswith(b"customers.csv: 4500 rows\n")


@pytest.fixture(scope="module")
def demo(shop: Path) -> tuple[Path, bytes, bytes]:
    """A small demo run with both streams piped: its store, standard output and standard error."""
    done = run_piped("demo", "--customers", "10", "--days", "3", "--store", "demo.db", "--outbox", "out", cwd=shop)
    assert done.returncode == 0, done.stderr
    return shop / "demo.db", done.stdout, done.stderr


def test_demo_shows_the_days_ticked_and_prints_the_same_story(shop: Path, demo: tuple[Path, bytes, bytes]) -> None:
    _, piped_out, piped_err = demo
    assert piped_err == b""
    args = ("demo", "--customers", "10", "--days", "3", "--store", "demo2.db", "--outbox", "out2")
    shown = run_ecrm(*args, cwd=shop, stdout_tty=False)
    assert shown.code == 0
    assert b"ticking" in shown.terminal and re.search(rb"day \d of 3", shown.terminal)
    assert same_but_timings(shown.stdout.replace(b"demo2.db", b"demo.db").replace(b"out2", b"out"), piped_out)
    # With both streams on the terminal, the demo's lines are printed above the bar, every one of them.
    both = run_ecrm(*args, cwd=shop)
    text = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", both.terminal).replace(b"\r\n", b"\n")
    for line in piped_out.decode().replace("demo.db", "demo2.db").replace("out/", "out2/").splitlines():
        if line and not SECONDS.search(line.encode()):
            assert line.encode() in text


def test_simulate_shows_the_days_replayed_and_its_usual_lines(shop: Path, demo: tuple[Path, bytes, bytes]) -> None:
    store = demo[0]
    args = ("simulate", "--from", "2025-03-01", "--to", "2025-03-03", "--store", str(store), "--out", "sim.db")
    piped = run_piped(*args, cwd=shop)
    assert piped.returncode == 0, piped.stderr
    assert BAR not in piped.stderr and b"\x1b[" not in piped.stderr
    shown = run_ecrm(*args, cwd=shop, stdout_tty=False)
    assert shown.code == 0
    assert b"replaying" in shown.terminal and re.search(rb"day \d of 3", shown.terminal)
    assert same_but_timings(shown.stdout, piped.stdout)
    text = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", shown.terminal).replace(b"\r\n", b"\n")
    for line in piped.stderr.splitlines():  # what a pipe gets is all on the terminal too
        assert SECONDS.sub(b"Ns", line) in SECONDS.sub(b"Ns", text)


SLOW = """
import time
from ecrm_dsl.cli.progress import Bar
with Bar("ticking", delay={delay}) as bar:
    time.sleep({work})
print("done")
"""


@pytest.mark.parametrize(("work", "shown"), [(0.0, False), (1.5, True)])
def test_a_delayed_bar_shows_only_when_the_work_is_slow(tmp_path: Path, work: float, shown: bool) -> None:
    # `ecrm run` gives each tick such a bar, shown after 2 s; here after 0.3 s.
    ran = run_in_pty([sys.executable, "-c", SLOW.format(delay=0.3, work=work)], tmp_path, clean_env())
    assert ran.code == 0
    assert (b"ticking" in ran.terminal) is shown
    assert ran.terminal.endswith(b"done\r\n")


def test_no_bar_when_the_terminal_is_dumb(shop: Path) -> None:
    args = ("import", "customers", "customers.csv", "--dry-run")
    shown = run_ecrm(*args, cwd=shop, stdout_tty=False, env=clean_env(TERM="dumb"))
    assert shown.code == 0 and shown.terminal == b""
