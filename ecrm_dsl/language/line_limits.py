"""LINE's limits on the messages a template's ``line`` content becomes, checked on both sides of the plan.

The linter checks the template as written (a placeholder may render empty, so only the literal text counts);
delivery checks the rendered message (every character counts), so a message LINE would refuse is a recorded
failure with a sentence instead of an HTTP 400. The figures are LINE's Messaging API reference: text message,
image message, template message (buttons) and URI action.

A template's ``line`` content, every key optional but at least one kind present, sent in this order::

    text: "…"                                   # a text message
    image: {url: "https://…", preview_url: "https://…"}          # an image message
    buttons: {title: "…", text: "…", image_url: "https://…",     # a buttons template message
              actions: [{label: "…", url: "https://…"}]}
    link: {text: "…", label: "…", url: "https://…"}             # text with one link button
    alt_text: "…"                               # shown in notifications; needed with buttons or link
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ecrm_dsl.language.placeholders import PLACEHOLDER

TEXT_MAX = 5000
ALT_TEXT_MAX = 400
TITLE_MAX = 40
BUTTONS_TEXT_MAX = 160  # a buttons template with neither image nor title
BUTTONS_TEXT_WITH_HEADER_MAX = 60  # with an image or a title
ACTIONS_MAX = 4
LABEL_MAX = 20
IMAGE_URL_MAX = 2000
ACTION_URL_MAX = 1000
ACTION_SCHEMES = ("https://", "http://", "line://", "tel:")

KINDS = ("text", "image", "buttons", "link")
# Fields that hold a URL: a placeholder spliced into one is percent-encoded, unless it starts the URL.
URL_FIELDS = frozenset({"url", "preview_url", "image_url"})

ContentPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class LineProblem:
    """One broken limit: where in the ``line`` content, and a sentence saying what and how to fix it."""

    path: ContentPath
    message: str


def literal_length(text: str) -> int:
    """Characters of ``text`` that are not placeholders: the fewest the rendered text can have."""
    return len(PLACEHOLDER.sub("", text))


def line_problems(content: Mapping[str, Any], *, rendered: bool) -> list[LineProblem]:
    """Every LINE limit ``content`` breaks; ``rendered`` says placeholders have been replaced already.

    Before rendering, lengths count only literal text and a URL that starts with a placeholder is not judged
    (its value decides the scheme); after rendering, everything is judged as LINE will.
    """
    measure: Callable[[str], int] = len if rendered else literal_length
    found: list[LineProblem] = []

    def too_long(path: ContentPath, what: str, limit: int, extra: str = "") -> None:
        value = _text_at(content, path)
        if value is not None and measure(value) > limit:
            counted = "characters" if rendered or not PLACEHOLDER.search(value) else "characters besides placeholders"
            found.append(LineProblem(path, f"{what} is {measure(value)} {counted}; LINE allows at most {limit}{extra}"))

    def required(path: ContentPath, what: str) -> None:
        value = _text_at(content, path)
        if value is not None and not value.strip():
            found.append(LineProblem(path, f"{what} is empty; LINE needs one"))

    def url(path: ContentPath, what: str, schemes: tuple[str, ...], limit: int, optional: bool = False) -> None:
        value = _text_at(content, path)
        if value is None or (optional and not value.strip()):
            return  # an optional URL that rendered empty is left out of the message
        if not rendered and PLACEHOLDER.match(value.lstrip()):
            return
        if not value.lstrip().startswith(schemes):
            names = list(schemes)
            allowed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
            # A rendered URL may carry customer data, which failure messages must not.
            shown = "" if rendered else f", not {value if len(value) <= 60 else value[:57] + '…'!r}"
            found.append(LineProblem(path, f"{what} must start with {allowed}{shown}"))
        too_long(path, what, limit)

    if not any(kind in content for kind in KINDS):
        found.append(LineProblem((), "LINE content has nothing to send: give text, image, buttons or link"))
    too_long(("text",), "the LINE text", TEXT_MAX)
    image = content.get("image")
    if isinstance(image, Mapping):
        url(("image", "url"), "the image URL", ("https://",), IMAGE_URL_MAX)
        url(("image", "preview_url"), "the image preview URL", ("https://",), IMAGE_URL_MAX)
    needs_alt = [kind for kind in ("buttons", "link") if kind in content]
    if needs_alt and not str(content.get("alt_text") or "").strip():
        found.append(
            LineProblem(
                (needs_alt[0],),
                f"a LINE {needs_alt[0]} message needs alt_text: the text shown in notifications and chat lists",
            )
        )
    too_long(("alt_text",), "the alt text", ALT_TEXT_MAX)
    buttons = content.get("buttons")
    if isinstance(buttons, Mapping):
        found += _buttons_problems(buttons, rendered, required, too_long, url)
    link = content.get("link")
    if isinstance(link, Mapping):
        for field, limit in (("text", BUTTONS_TEXT_MAX), ("label", LABEL_MAX)):
            required(("link", field), f"the link {field}")
            too_long(("link", field), f"the link {field}", limit)
        url(("link", "url"), "the link URL", ACTION_SCHEMES, ACTION_URL_MAX)
    return found


def _buttons_problems(
    buttons: Mapping[str, Any],
    rendered: bool,
    required: Callable[[ContentPath, str], None],
    too_long: Callable[..., None],
    url: Callable[..., None],
) -> list[LineProblem]:
    found: list[LineProblem] = []
    # The text's limit is stricter with a header; before rendering, only literal text is sure to be there.
    has_header = any(_present(buttons.get(field), rendered) for field in ("image_url", "title"))
    too_long(("buttons", "title"), "the buttons title", TITLE_MAX)
    required(("buttons", "text"), "the buttons text")
    if has_header:
        too_long(("buttons", "text"), "the buttons text", BUTTONS_TEXT_WITH_HEADER_MAX, " with an image or a title")
    else:
        too_long(("buttons", "text"), "the buttons text", BUTTONS_TEXT_MAX)
    url(("buttons", "image_url"), "the buttons image URL", ("https://",), IMAGE_URL_MAX, True)
    actions = buttons.get("actions")
    if isinstance(actions, list):
        if not actions or len(actions) > ACTIONS_MAX:
            found.append(
                LineProblem(
                    ("buttons", "actions"),
                    f"a LINE buttons message has {len(actions)} buttons; it needs 1 to {ACTIONS_MAX}",
                )
            )
        for index in range(len(actions)):
            required(("buttons", "actions", index, "label"), f"the label of button {index + 1}")
            too_long(("buttons", "actions", index, "label"), f"the label of button {index + 1}", LABEL_MAX)
            url(("buttons", "actions", index, "url"), f"the URL of button {index + 1}", ACTION_SCHEMES, ACTION_URL_MAX)
    return found


def _present(value: Any, rendered: bool) -> bool:
    text = value if isinstance(value, str) else ""
    return bool((text if rendered else PLACEHOLDER.sub("", text)).strip())


def _text_at(content: Mapping[str, Any], path: ContentPath) -> str | None:
    value: Any = content
    for part in path:
        if isinstance(value, Mapping) and isinstance(part, str):
            value = value.get(part)
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            value = value[part]
        else:
            return None
    return value if isinstance(value, str) else None
