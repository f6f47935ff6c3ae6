"""Running the real ``ecrm`` with a pseudo-terminal for standard output and/or error, as a person at a keyboard
would (colour and progress bars depend on it); what went to the terminal and what went to a pipe, separately."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANSI_SGR = b"\x1b["  # every colour, and the cursor movements of a bar, start so


@dataclass(frozen=True)
class Ran:
    code: int
    terminal: bytes  # what the command wrote to the pseudo-terminal
    stdout: bytes  # what it wrote to standard output when that was a pipe (b"" when it was the terminal)
    stderr: bytes  # likewise for standard error


def clean_env(**changes: str | None) -> dict[str, str]:
    """The environment without anything that decides colour, plus ``changes`` (None removes)."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM", "CI", "COLUMNS")}
    env.update({"TERM": "xterm-256color", "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"})
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_ecrm(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    stdout_tty: bool = True,
    stderr_tty: bool = True,
    timeout: float = 300,
) -> Ran:
    """``python -m ecrm_dsl ARGS`` with the chosen streams on a 120-column pseudo-terminal, the others piped."""
    return run_in_pty(
        [sys.executable, "-m", "ecrm_dsl", *args],
        cwd,
        env,
        stdout_tty=stdout_tty,
        stderr_tty=stderr_tty,
        timeout=timeout,
    )


def run_in_pty(
    argv: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    *,
    stdout_tty: bool = True,
    stderr_tty: bool = True,
    timeout: float = 300,
) -> Ran:
    """Any program, as :func:`run_ecrm` runs ``ecrm``."""
    args = argv
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env if env is not None else clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=slave if stdout_tty else subprocess.PIPE,
        stderr=slave if stderr_tty else subprocess.PIPE,
    )
    os.close(slave)
    terminal = bytearray()
    piped: dict[str, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}
    streams = {name: getattr(process, name) for name in piped if getattr(process, name) is not None}
    readers = {master: "terminal", **{stream.fileno(): name for name, stream in streams.items()}}
    deadline = time.monotonic() + timeout
    while readers:
        if time.monotonic() > deadline:
            process.kill()
            raise TimeoutError(f"ecrm {' '.join(args)} took over {timeout}s")
        ready, _, _ = select.select(list(readers), [], [], 1.0)
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the terminal's other end closed: the process has exited
                chunk = b""
            if not chunk:
                del readers[fd]
                continue
            (terminal if readers[fd] == "terminal" else piped[readers[fd]]).extend(chunk)
    code = process.wait(timeout=30)
    os.close(master)
    return Ran(code, bytes(terminal), bytes(piped["stdout"]), bytes(piped["stderr"]))


def run_piped(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """The same command with both streams piped, as CI and scripts run it."""
    return subprocess.run(
        [sys.executable, "-m", "ecrm_dsl", *args],
        cwd=cwd,
        env=env if env is not None else clean_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
        timeout=300,
    )
