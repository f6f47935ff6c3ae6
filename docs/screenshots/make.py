"""Draws the README's screenshots of ecrm in Japanese: the terminal, and VS Code with the extension.

    python docs/screenshots/make.py terminal   # lint-ja.png: needs Chromium (Debian: apt-get install chromium)
    python docs/screenshots/make.py vscode     # vscode-*.png: also needs code-server and Playwright, see below
    python docs/screenshots/make.py            # both

Run it from the repository with the package importable (the venv's python, or PYTHONPATH=.). Each picture is
taken of the real thing, never drawn by hand: a starter project made by `ecrm init` plus one scenario with
mistakes in it (`dormant_winback.ecrm`, below), linted by the real CLI with `--lang ja --color always`; its ANSI
colours are laid out on a terminal grid (a Japanese character takes two columns, as in a terminal) and
screenshotted by headless Chromium.

The VS Code pictures come from code-server (VS Code in the browser, from npm: `npm install code-server@4.100.3`
— its postinstall builds native modules: `apt-get install build-essential pkg-config libkrb5-dev libx11-dev
libxkbfile-dev libsecret-1-dev`, and as root `npm_config_unsafe_perm=true`; where GitHub cannot be reached,
ripgrep's download fails: unpack the package, run `npm install --omit=dev --ignore-scripts` in it and in its
lib/vscode, `npm rebuild` the native modules there (npm_config_yes=true for node-pty) and argon2 at the top, and
copy the system's `rg` to lib/vscode/node_modules/@vscode/ripgrep/bin/), with the extension's `.vsix`
(`npm ci && npm run package` in editors/vscode) installed, driven by Playwright for Python (`pip install
playwright`; it drives the machine's Chromium, nothing is downloaded). `ECRM_LANG=ja` in code-server's
environment reaches `ecrm lsp`, so the findings, hovers and completion details are Japanese while VS Code itself
stays English (its Japanese language pack comes from the Marketplace; `--locale ja` without it changes nothing).
The Red Hat YAML extension, in our extension's pack, is a Marketplace download too: where it cannot be installed,
the pictures show the `.ecrm` text syntax.
Tell the script where things are with CODE_SERVER (the code-server command; default: on PATH) and VSIX
(default: editors/vscode/ecrm-dsl.vsix).
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.cells import cell_len
from rich.console import Console
from rich.style import Style
from rich.text import Text

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

# A scenario a planner might write on a first try: a misspelt template (with its one safe fix) and a send that
# forgets a parameter the template needs. editor_shots.py finds its steps at lines 9 and 10.
DORMANT_WINBACK = """\
# 休眠顧客の掘り起こし: 90日購入のない顧客にクーポンを送る
scenario dormant_winback "休眠顧客の掘り起こし" {
  kind sell
  owner "crm-team"
  when segment dormant_90
  hypothesis f2_rate "休眠顧客はクーポンで戻ってくる"
  goal order.placed within 14d

  day 0 at 10:00: send email repeat_cupon with { coupon_code = "BACK15" }
  day 7 at 10:00 if orders_since_entry == 0: send line repeat_coupon
}
"""

# The terminal: VS Code's Dark+ terminal colours for the 16 ANSI colours rich uses.
BACKGROUND = "#1e1e1e"
FOREGROUND = "#cccccc"
ANSI = (
    "#000000", "#cd3131", "#0dbc79", "#e5e510", "#2472c8", "#bc3fbc", "#11a8cd", "#e5e5e5",
    "#666666", "#f14c4c", "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#e5e5e5",
)  # fmt: skip
FONT_SIZE = 14
LINE_HEIGHT = 20
CHAR_WIDTH = FONT_SIZE * 0.602  # DejaVu Sans Mono's advance; a wide character takes two of them
WIDE_SIZE = 16  # IPAGothic's kanji are 1em wide: a little larger than the Latin text, spaced to two columns


def ecrm(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real CLI of this checkout (the package that `import ecrm_dsl` finds)."""
    environment = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "100", **(env or {})}
    environment.pop("NO_COLOR", None)
    return subprocess.run(
        [sys.executable, "-m", "ecrm_dsl", *args], cwd=cwd, env=environment, capture_output=True, text=True
    )


def make_project(folder: Path) -> Path:
    """`ecrm init` (with its editor settings) plus the scenario with mistakes; returns the project folder."""
    project = folder / "shop"
    made = ecrm("init", str(project), cwd=folder)
    if made.returncode != 0:
        raise SystemExit(f"ecrm init failed:\n{made.stderr}")
    (project / "scenarios" / "dormant_winback.ecrm").write_text(DORMANT_WINBACK, encoding="utf-8")
    return project


def terminal_html(command: str, ansi_output: str) -> tuple[str, int, int]:
    """A terminal window showing ``$ command`` and its coloured output; returns the page and its pixel size."""
    rows = [f'<div class="line"><span class="prompt">$</span> {html.escape(command)}</div>']
    columns = cell_len(command) + 2
    for line in ansi_output.rstrip("\n").split("\n"):
        text = Text.from_ansi(line)
        columns = max(columns, text.cell_len)
        parts = []
        for content, style in _segments(text):
            css = []
            if style is not None:
                if style.color is not None and style.color.number is not None and style.color.number < len(ANSI):
                    css.append(f"color:{ANSI[style.color.number]}")
                if style.bold:
                    css.append("font-weight:bold")
                if style.dim:
                    css.append("opacity:.6")
            parts.append(f'<span style="{";".join(css)}">{_grid(content)}</span>')
        rows.append(f'<div class="line">{"".join(parts) or "&nbsp;"}</div>')
    width = int(columns * CHAR_WIDTH) + 2 * 16
    height = (len(rows)) * LINE_HEIGHT + 2 * 14 + 28
    page = f"""<!doctype html><meta charset="utf-8"><style>
  html, body {{ margin: 0; background: {BACKGROUND}; }}
  .bar {{ height: 28px; background: #323233; color: #999; font: 12px sans-serif; line-height: 28px;
          text-align: center; position: relative; }}
  .dots {{ position: absolute; left: 12px; top: 9px; }}
  .dots i {{ display: inline-block; width: 10px; height: 10px; border-radius: 5px; margin-right: 6px; }}
  .screen {{ padding: 14px 16px; color: {FOREGROUND}; font: {FONT_SIZE}px/{LINE_HEIGHT}px 'DejaVu Sans Mono',
             'IPAGothic', monospace; white-space: pre; }}
  .wide {{ font-size: {WIDE_SIZE}px; letter-spacing: {2 * CHAR_WIDTH - WIDE_SIZE:.3f}px; }}
  .prompt {{ color: #23d18b; }}
</style>
<div class="bar"><span class="dots"><i style="background:#ff5f57"></i><i style="background:#febc2e"></i><i
style="background:#28c840"></i></span>shop — bash</div>
<div class="screen">{"".join(rows)}</div>"""
    return page, width, height


def _segments(text: Text) -> list[tuple[str, Style | None]]:
    """The runs of ``text`` with one style each."""
    console = Console(width=10_000, color_system="standard", force_terminal=True)
    return [(segment.text, segment.style) for segment in text.render(console) if segment.text != "\n"]


def _grid(content: str) -> str:
    """Escape ``content``, spacing out each wide character so that it covers exactly two columns."""
    out = []
    for char in content:
        escaped = html.escape(char)
        out.append(f'<span class="wide">{escaped}</span>' if cell_len(char) == 2 else escaped)
    return "".join(out)


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("no Chromium to take the pictures with (Debian: apt-get install chromium)")


def screenshot_page(page: str, output: Path, width: int, height: int) -> None:
    """A PNG of ``page`` at exactly ``width`` x ``height`` pixels, by headless Chromium."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "page.html"
        source.write_text(page, encoding="utf-8")
        command = [
            chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--hide-scrollbars", f"--user-data-dir={Path(folder) / 'profile'}",
            f"--window-size={width},{height}", "--force-device-scale-factor=1",
            f"--screenshot={output}", source.as_uri(),
        ]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True, timeout=120)
    print(f"wrote {output.relative_to(REPO)} ({output.stat().st_size // 1024} KB)")


def terminal(project: Path) -> None:
    """lint-ja.png: `ecrm --lang ja lint` on the project, in colour."""
    linted = ecrm("--lang", "ja", "--color", "always", "lint", cwd=project)
    if linted.returncode != 1:
        raise SystemExit(f"expected findings (exit 1), got {linted.returncode}:\n{linted.stderr}")
    page, width, height = terminal_html("ecrm --lang ja lint", linted.stdout + linted.stderr)
    screenshot_page(page, HERE / "lint-ja.png", width, height)


def main(argv: list[str]) -> int:
    wanted = set(argv) or {"terminal", "vscode"}
    unknown = wanted - {"terminal", "vscode"}
    if unknown:
        print(__doc__, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        project = make_project(Path(folder))
        if "terminal" in wanted:
            terminal(project)
        if "vscode" in wanted:
            from editor_shots import take_pictures

            for line in take_pictures(project, HERE, chromium()):
                print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
