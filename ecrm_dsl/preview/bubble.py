"""A picture of a LINE push as the chat shows it: the messages of the push body drawn as bubbles in HTML, and
that page screenshotted by headless Chromium. An approximation of LINE's look, drawn from the exact payload."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from ecrm_dsl.language.i18n import tr

WIDTH = 420  # the window, as wide as the chat in the style below
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_STYLE = """
body { margin: 0; background: #8cabd9; font-family: "Noto Sans CJK JP", "Hiragino Sans", sans-serif; }
.chat { padding: 16px 14px 24px; width: 420px; box-sizing: border-box; }
.shop { color: #fff; font-size: 13px; margin: 0 0 10px 4px; }
.bubble { background: #fff; border-radius: 18px; padding: 10px 14px; margin: 0 0 10px; max-width: 300px;
  font-size: 15px; line-height: 1.45; white-space: pre-wrap; word-break: break-word; }
.image img { display: block; max-width: 260px; border-radius: 14px; margin: 0 0 10px; }
.card { background: #fff; border-radius: 14px; width: 280px; overflow: hidden; margin: 0 0 10px; }
.card img { display: block; width: 100%; height: 150px; object-fit: cover; }
.card .title { font-weight: bold; font-size: 15px; padding: 12px 14px 0; }
.card .text { font-size: 14px; color: #444; padding: 8px 14px 12px; white-space: pre-wrap; }
.card a { display: block; text-align: center; color: #2a63c4; padding: 11px; border-top: 1px solid #e6e6e6;
  font-size: 15px; text-decoration: none; }
.alt { color: #eef; font-size: 11px; margin: -6px 0 10px 6px; }
"""


class ChromiumMissing(RuntimeError):
    """No headless Chromium on this machine: the page can still be written and opened by hand."""


def bubble_page(messages: Sequence[Mapping[str, Any]], shop: str = "") -> str:
    """An HTML page drawing the push's messages (text, image, buttons and link templates) in order."""
    parts = [f'<div class="shop">{escape(shop)}</div>' if shop else ""]
    for message in messages:
        kind = message.get("type")
        if kind == "text":
            parts.append(f'<div class="bubble">{escape(str(message["text"]))}</div>')
        elif kind == "image":
            parts.append(f'<div class="image"><img src="{escape(str(message["previewImageUrl"]))}" alt=""></div>')
        elif kind == "template":
            parts.append(_card(message["template"]))
            parts.append(f'<div class="alt">通知: {escape(str(message.get("altText", "")))}</div>')
    body = "\n".join(p for p in parts if p)
    return (
        '<!doctype html>\n<html lang="ja"><head><meta charset="utf-8"><title>LINE preview</title>'
        f'<style>{_STYLE}</style></head>\n<body><div class="chat">\n{body}\n</div></body></html>\n'
    )


def _card(template: Mapping[str, Any]) -> str:
    inner = []
    if template.get("thumbnailImageUrl"):
        inner.append(f'<img src="{escape(str(template["thumbnailImageUrl"]))}" alt="">')
    if template.get("title"):
        inner.append(f'<div class="title">{escape(str(template["title"]))}</div>')
    inner.append(f'<div class="text">{escape(str(template.get("text", "")))}</div>')
    for action in template.get("actions", []):
        inner.append(f'<a href="{escape(str(action.get("uri", "")))}">{escape(str(action.get("label", "")))}</a>')
    return '<div class="card">' + "".join(inner) + "</div>"


def find_chromium() -> str | None:
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def screenshot(page: str, output: Path, *, height: int = 640, timeout: float = 120) -> None:
    """Write a PNG of ``page`` to ``output`` with headless Chromium (ChromiumMissing when there is none)."""
    binary = find_chromium()
    if binary is None:
        raise ChromiumMissing(
            tr(
                "no Chromium to take the picture with (install it, e.g. apt-get install chromium); --html or --open "
                "show the same page in a browser"
            )
        )
    with tempfile.TemporaryDirectory(prefix="ecrm-preview-") as scratch:
        folder = Path(scratch)
        source = folder / "bubble.html"
        source.write_text(page, encoding="utf-8")
        flags = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--hide-scrollbars", f"--user-data-dir={folder / 'profile'}", f"--window-size={WIDTH},{height}",
            f"--screenshot={output.resolve()}", source.as_uri(),
        ]  # fmt: skip
        done = subprocess.run(
            [binary, *flags], capture_output=True, timeout=timeout, env=dict(os.environ, HOME=scratch), check=False
        )
    if not output.is_file():
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise ChromiumMissing(tr("Chromium did not write the picture ({output})", output=tail[0][:200]))
