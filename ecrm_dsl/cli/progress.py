"""Progress on long work: a transient bar on standard error while it is a terminal, nothing anywhere else.

A bar never changes what the command writes: lines the command prints anyway go through :meth:`Bar.echo`, which
shows them above the bar while it is up and is plain ``click.echo`` otherwise. On a pipe or in a CI log there is
no bar, no summary and not one byte more.
"""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any

import click

from ecrm_dsl.cli.terminal import color_on, is_terminal, shows_progress

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class Bar:
    """One task's bar: ``with Bar("importing", total=size) as bar: ... bar.update(done, detail=...)``.

    With ``delay``, the bar appears only once the work has taken that many seconds (a tick of ``ecrm run`` that
    is quick stays one quiet log line). ``summary`` is printed in its place when it goes, on the terminal only.
    """

    def __init__(self, description: str, *, total: int | None = None, delay: float = 0.0) -> None:
        self.description = description
        self.total = total
        self.delay = delay
        self.summary: str | None = None
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._shown = False

    @property
    def live(self) -> bool:
        return self._progress is not None

    def __enter__(self) -> Bar:
        if not shows_progress():
            return self
        # rich is loaded only for a terminal: a pipe or CI log never pays for it
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        console = Console(file=sys.stderr, no_color=not color_on(err=True), highlight=False, markup=False, emoji=False)
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            redirect_stdout=False,  # the command's own output stays where it was going
            redirect_stderr=False,
        )
        self._task = self._progress.add_task(self.description, total=self.total, detail="")
        if self.delay > 0:
            self._timer = threading.Timer(self.delay, self._show)
            self._timer.daemon = True
            self._timer.start()
        else:
            self._show()
        return self

    def _show(self) -> None:
        with self._lock:
            if self._progress is not None and not self._shown:
                self._progress.start()
                self._shown = True

    def update(
        self, done: int, total: int | None = None, detail: str | None = None, description: str | None = None
    ) -> None:
        """Where the work is: ``done`` of ``total`` (kept when None), a few words after the bar, and what it is."""
        if self._progress is None or self._task is None:
            return
        fields: dict[str, Any] = {"detail": detail} if detail is not None else {}  # kept when None
        self._progress.update(
            self._task,
            completed=done,
            total=total if total is not None else self.total,
            description=description,
            **fields,
        )
        if total is not None:
            self.total = total

    def echo(self, message: str, *, err: bool = False) -> None:
        """A line the command prints with or without a bar: above the bar while it shows (when both streams are
        this terminal), else exactly as ``click.echo`` would."""
        if self._progress is not None and self._shown and (err or is_terminal(sys.stdout)):
            self._progress.console.print(message, soft_wrap=True)
        else:
            click.echo(message, err=err)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            if self._progress is None:
                return
            if self._shown:
                self._progress.stop()
            console = self._progress.console
            self._progress = None
        if self.summary and exc_type is None:
            console.print(self.summary, soft_wrap=True)
