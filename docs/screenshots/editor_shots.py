"""VS Code with the ecrm-dsl extension, in code-server, driven by Playwright: the README's editor pictures.

Each step checks what VS Code shows before the picture is taken (the finding's Japanese text in the Problems
panel, the template names in the completion list, the rendered template under its Japanese heading and the
worked-out timing in Japanese in the hovers),
so a run that ends without an error is also a smoke test of the extension in a real VS Code: it activates, starts
`ecrm lsp`, and the server's diagnostics, completion and hover reach the editor. `make.py vscode` calls
`take_pictures`; `editors/vscode/scripts/smoke.py` runs the same into a scratch folder. See make.py for what
to install.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent.parent
VSIX = REPO / "editors" / "vscode" / "ecrm-dsl.vsix"
YAML_EXTENSION = "redhat.vscode-yaml"
WIDTH, HEIGHT = 1200, 720

SETTINGS = {
    "workbench.startupEditor": "none",
    "workbench.colorTheme": "Default Dark Modern",
    "workbench.tips.enabled": False,
    "security.workspace.trust.enabled": False,
    "editor.fontSize": 14,
    "editor.fontFamily": "'DejaVu Sans Mono', 'IPAGothic', monospace",
    "editor.minimap.enabled": False,
    "editor.hover.above": False,  # below the line, where a rendered template has room
    "chat.commandCenter.enabled": False,
    "telemetry.telemetryLevel": "off",
    "extensions.ignoreRecommendations": True,
    "git.enabled": False,
    "update.mode": "none",
}


def code_server_command() -> list[str]:
    """CODE_SERVER (a command line, e.g. `node …/code-server/out/node/entry.js`), else code-server on PATH."""
    command = shlex.split(os.environ.get("CODE_SERVER", "code-server"))
    if shutil.which(command[0]) is None:
        raise SystemExit(f"no code-server ({command[0]}): install it (see make.py) or set CODE_SERVER")
    return command


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def code_server(project: Path, scratch: Path, log: list[str]) -> Iterator[str]:
    """code-server on ``project`` with the extension installed; yields its URL. ECRM_LANG=ja reaches `ecrm lsp`."""
    command = code_server_command()
    vsix = Path(os.environ.get("VSIX", VSIX))
    if not vsix.is_file():
        raise SystemExit(f"no {vsix}: build it with `npm ci && npm run package` in editors/vscode")
    dirs = ["--user-data-dir", str(scratch / "user"), "--extensions-dir", str(scratch / "extensions")]
    yaml = subprocess.run(
        [*command, *dirs, "--install-extension", YAML_EXTENSION], capture_output=True, text=True, timeout=300
    )
    if yaml.returncode == 0 and YAML_EXTENSION in yaml.stdout:
        log.append(f"installed {YAML_EXTENSION}")
    else:  # ours still activates: the YAML extension is in its pack, not a dependency
        log.append(f"{YAML_EXTENSION} could not be installed (no extension gallery?): the .ecrm files only")
    subprocess.run([*command, *dirs, "--install-extension", str(vsix)], check=True, capture_output=True, timeout=300)
    settings = dict(SETTINGS)
    ecrm = Path(sys.executable).parent / "ecrm"
    if ecrm.exists():
        settings["ecrm.path"] = str(ecrm)
    (scratch / "user" / "User").mkdir(parents=True, exist_ok=True)
    (scratch / "user" / "User" / "settings.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")
    port = _free_port()
    environment = {**os.environ, "ECRM_LANG": "ja", "PYTHONPATH": str(REPO)}
    with (scratch / "code-server.log").open("w") as output:
        serve = [
            *command, *dirs, "--auth", "none", "--bind-addr", f"127.0.0.1:{port}", "--disable-telemetry",
            "--disable-update-check", "--disable-workspace-trust", "--config", str(scratch / "config.yaml"),
            str(project),
        ]  # fmt: skip
        server = subprocess.Popen(
            serve,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}/?folder={project}"
            for _ in range(120):
                try:
                    urllib.request.urlopen(url, timeout=2).close()
                    break
                except OSError:
                    time.sleep(0.5)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)


class Editor:
    """A VS Code page, moved about with its own keyboard shortcuts (no coordinates: they follow the layout)."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def keys(self, *keys: str, pause: float = 0.4) -> None:
        for key in keys:
            self.page.keyboard.press(key)
        time.sleep(pause)

    def open(self, name: str) -> None:
        self.keys("Control+P")
        self.page.keyboard.type(name)
        self.wait_text(".quick-input-list", name)
        self.keys("Enter", pause=1)

    def command(self, title: str) -> None:
        """Run a command from the palette by its title."""
        self.keys("Control+Shift+P")
        self.page.keyboard.type(title)
        self.wait_text(".quick-input-list", title)
        self.keys("Enter", pause=2)

    def go_to(self, line: int, column: int) -> None:
        self.keys("Control+G")
        self.page.keyboard.type(f"{line}:{column}")
        self.keys("Enter")

    def hover(self, line: int, column: int, expect: str) -> str:
        """Show the hover at ``line``:``column`` (Ctrl+K Ctrl+I); returns its text, which must hold ``expect``."""
        self.go_to(line, column)
        self.keys("Control+K", "Control+I")
        return self.wait_text(".monaco-hover:not(.hidden)", expect)

    def wait_text(self, selector: str, expect: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            found = self.page.locator(selector)
            text = "\n".join(found.nth(i).inner_text() for i in range(found.count()) if found.nth(i).is_visible())
            if expect in text:
                time.sleep(0.5)  # let the widget finish drawing
                return text
            time.sleep(0.3)
        picture = Path(tempfile.gettempdir()) / "ecrm-vscode-failure.png"
        self.page.screenshot(path=str(picture))
        raise SystemExit(
            f"VS Code did not show {expect!r} in {selector} within {timeout:.0f}s (see {picture}); it showed:\n{text}"
        )

    def shoot(self, output: Path, log: list[str], clip: tuple[int, int, int, int] | None = None) -> None:
        """A picture of the window, or of ``clip`` (x, y, width, height) in it."""
        area = dict(zip(("x", "y", "width", "height"), clip, strict=True)) if clip else None
        self.page.screenshot(path=str(output), clip=area)
        log.append(f"wrote {output.name} ({output.stat().st_size // 1024} KB)")


def take_pictures(project: Path, out: Path, chromium: str, *, more_checks: bool = False) -> list[str]:
    """The four editor pictures of ``project``'s dormant_winback.ecrm into ``out``; returns what was seen.
    ``more_checks`` (the smoke test) then also applies the quick fix, formats and saves the file, and checks a
    finding in a YAML file."""
    from playwright.sync_api import sync_playwright

    log: list[str] = []
    with tempfile.TemporaryDirectory() as folder, code_server(project, Path(folder), log) as url:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
            page.goto(url)
            page.wait_for_selector(".monaco-workbench", timeout=120_000)
            time.sleep(3)
            editor = Editor(page)
            editor.open("dormant_winback.ecrm")
            editor.wait_text(".monaco-editor .view-lines", "dormant_winback")
            editor.wait_text(".statusbar", "ecrm-dsl")  # the language mode the extension contributes
            log.append("the extension colours .ecrm (language mode ecrm-dsl) and starts ecrm lsp")

            # (a) the findings in Japanese: squiggles, the Problems panel, and the hover of one with its fix.
            editor.keys("Control+Shift+M", pause=1)
            editor.wait_text(".markers-panel", "不明なテンプレート 'repeat_cupon'")
            editor.keys("Control+1")
            seen = editor.hover(9, 32, "もしかして repeat_coupon")
            log.append(f"diagnostic hover: {seen.splitlines()[0]}")
            editor.shoot(out / "vscode-diagnostics-ja.png", log)
            editor.keys("Escape")

            # (c) hovers: a template as the customer reads it, and a step's timing worked out.
            editor.keys("Control+J", pause=1)  # hide the panel: room for the hover
            seen = editor.hover(10, 10, "に参加した場合")  # the worked-out timing, in Japanese like the findings
            _expect(seen, "に送信", "the timing hover")
            log.append(f"timing hover: {seen.splitlines()[0]}")
            editor.shoot(out / "vscode-hover-timing-ja.png", log, clip=(348, 35, 852, 300))
            editor.keys("Escape")
            # The starter scenario's coupon send: its params fill the message (and the sidebar makes room).
            editor.open("f2_step_mail.ecrm")
            editor.keys("Control+B", pause=1)
            seen = editor.hover(11, 60, "F2OFF10")
            _expect(seen, "テンプレート repeat_coupon", "the template hover")
            _expect(seen, "パラメーター: ", "the template hover")
            log.append("template hover: " + " / ".join(line for line in seen.splitlines()[:3] if line.strip()))
            editor.shoot(out / "vscode-hover-template-ja.png", log, clip=(48, 35, 1152, 530))
            editor.keys("Escape", "Control+B")
            editor.open("dormant_winback.ecrm")

            # (b) completion: a new send lists the project's templates with their titles.
            editor.go_to(10, 200)
            editor.keys("Enter")
            page.keyboard.type("day 14 at 10:00: send email ")
            editor.keys("Control+Space")
            seen = editor.wait_text(".suggest-widget.visible", "thanks_first")
            log.append("completion: " + ", ".join(line for line in seen.splitlines() if line.strip()))
            editor.shoot(out / "vscode-completion-ja.png", log, clip=(348, 35, 852, 320))
            if more_checks:
                _more_checks(editor, project, log)
            browser.close()
    return log


def _expect(seen: str, expect: str, what: str) -> None:
    if expect not in seen:
        raise SystemExit(f"{what} did not show {expect!r}; it showed:\n{seen}")


def _more_checks(editor: Editor, project: Path, log: list[str]) -> None:
    """Quick fix, formatting and saving in dormant_winback.ecrm; a YAML file's finding (segments/lapsed.yaml,
    which the smoke test adds) in the Problems panel."""
    scenario = project / "scenarios" / "dormant_winback.ecrm"
    editor.keys("Escape", "Control+Shift+K")  # the unfinished line typed for the completion goes
    editor.go_to(9, 32)
    editor.keys("Control+.")
    editor.wait_text(".action-widget", "repeat_coupon")
    editor.keys("Enter", pause=1)
    editor.go_to(3, 1)
    editor.page.keyboard.type("    ")  # an indentation for the formatter to put right
    editor.command("Format Document")
    editor.keys("Control+S", pause=2)
    saved = scenario.read_text(encoding="utf-8")
    if "send email repeat_coupon with" not in saved or "\n  kind sell\n" not in saved:
        raise SystemExit(f"the quick fix or the formatting did not reach the saved file:\n{saved}")
    log.append("quick fix (repeat_cupon → repeat_coupon), formatting and save: the file on disk is right")
    editor.open("lapsed.yaml")
    editor.keys("Control+Shift+M", pause=1)
    seen = editor.wait_text(".markers-panel", "days_since_last_ordr")
    log.append("YAML file: " + next(line for line in seen.splitlines() if "days_since_last_ordr" in line))
