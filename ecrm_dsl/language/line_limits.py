"""LINE's limits on the messages a template's ``line`` content becomes, checked on both sides of the plan.

The linter checks the template as written (a placeholder may render empty, so only the literal text counts);
delivery checks the rendered message (every character counts), so a message LINE would refuse is a recorded
failure with a sentence instead of an HTTP 400. The figures are LINE's Messaging API reference: text message,
image message, template message (buttons) and URI action.

Each problem says what is wrong in English (``message``: what a failed delivery records, whatever the language of
the process) and in the current language (``text``: what lint and the editor show).

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
from dataclasses import dataclass, field
from typing import Any

from ecrm_dsl.language.i18n import lookup, n_
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
class Phrase:
    """A message marked with :func:`n_` and the values of its ``{fields}`` (a value may be a phrase itself), said
    in English or in the current language."""

    message: str
    fields: Mapping[str, object] = field(default_factory=dict)

    def english(self) -> str:
        return self.message.format(**{k: v.english() if isinstance(v, Phrase) else v for k, v in self.fields.items()})

    def localized(self) -> str:
        values = {k: v.localized() if isinstance(v, Phrase) else v for k, v in self.fields.items()}
        return lookup(self.message).format(**values)


@dataclass(frozen=True, slots=True)
class LineProblem:
    """One broken limit: where in the ``line`` content, and a sentence saying what and how to fix it."""

    path: ContentPath
    sentence: Phrase

    @property
    def message(self) -> str:
        """The sentence in English."""
        return self.sentence.english()

    @property
    def text(self) -> str:
        """The sentence in the current language."""
        return self.sentence.localized()


def _what(message: str, **fields: object) -> Phrase:
    return Phrase(message, fields)


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

    def too_long(path: ContentPath, what: Phrase, limit: int, with_header: bool = False) -> None:
        value = _text_at(content, path)
        if value is not None and measure(value) > limit:
            fields = {"what": what, "length": measure(value), "limit": limit}
            besides = not rendered and bool(PLACEHOLDER.search(value))
            if with_header and besides:
                sentence = n_(
                    "{what} is {length} characters besides placeholders; LINE allows at most {limit} with an image "
                    "or a title"
                )
            elif with_header:
                sentence = n_("{what} is {length} characters; LINE allows at most {limit} with an image or a title")
            elif besides:
                sentence = n_("{what} is {length} characters besides placeholders; LINE allows at most {limit}")
            else:
                sentence = n_("{what} is {length} characters; LINE allows at most {limit}")
            found.append(LineProblem(path, Phrase(sentence, fields)))

    def required(path: ContentPath, what: Phrase) -> None:
        value = _text_at(content, path)
        if value is not None and not value.strip():
            found.append(LineProblem(path, Phrase(n_("{what} is empty; LINE needs one"), {"what": what})))

    def url(path: ContentPath, what: Phrase, schemes: tuple[str, ...], limit: int, optional: bool = False) -> None:
        value = _text_at(content, path)
        if value is None or (optional and not value.strip()):
            return  # an optional URL that rendered empty is left out of the message
        if not rendered and PLACEHOLDER.match(value.lstrip()):
            return
        if not value.lstrip().startswith(schemes):
            names = list(schemes)
            allowed: object = names[0]
            if len(names) > 1:
                allowed = Phrase(n_("{schemes} or {last}"), {"schemes": ", ".join(names[:-1]), "last": names[-1]})
            if rendered:  # a rendered URL may carry customer data, which failure messages must not
                sentence = Phrase(n_("{what} must start with {schemes}"), {"what": what, "schemes": allowed})
            else:
                shown = repr(value if len(value) <= 60 else value[:57] + "…")
                fields = {"what": what, "schemes": allowed, "value": shown}
                sentence = Phrase(n_("{what} must start with {schemes}, not {value}"), fields)
            found.append(LineProblem(path, sentence))
        too_long(path, what, limit)

    if not any(kind in content for kind in KINDS):
        found.append(LineProblem((), Phrase(n_("LINE content has nothing to send: give text, image, buttons or link"))))
    too_long(("text",), _what(n_("the LINE text")), TEXT_MAX)
    image = content.get("image")
    if isinstance(image, Mapping):
        url(("image", "url"), _what(n_("the image URL")), ("https://",), IMAGE_URL_MAX)
        url(("image", "preview_url"), _what(n_("the image preview URL")), ("https://",), IMAGE_URL_MAX)
    needs_alt = [kind for kind in ("buttons", "link") if kind in content]
    if needs_alt and not str(content.get("alt_text") or "").strip():
        if needs_alt[0] == "buttons":
            sentence = n_("a LINE buttons message needs alt_text: the text shown in notifications and chat lists")
        else:
            sentence = n_("a LINE link message needs alt_text: the text shown in notifications and chat lists")
        found.append(LineProblem((needs_alt[0],), Phrase(sentence)))
    too_long(("alt_text",), _what(n_("the alt text")), ALT_TEXT_MAX)
    buttons = content.get("buttons")
    if isinstance(buttons, Mapping):
        found += _buttons_problems(buttons, rendered, required, too_long, url)
    link = content.get("link")
    if isinstance(link, Mapping):
        link_parts = (
            ("text", _what(n_("the link text")), BUTTONS_TEXT_MAX),
            ("label", _what(n_("the link label")), LABEL_MAX),
        )
        for part, what, limit in link_parts:
            required(("link", part), what)
            too_long(("link", part), what, limit)
        url(("link", "url"), _what(n_("the link URL")), ACTION_SCHEMES, ACTION_URL_MAX)
    return found


def _buttons_problems(
    buttons: Mapping[str, Any],
    rendered: bool,
    required: Callable[[ContentPath, Phrase], None],
    too_long: Callable[..., None],
    url: Callable[..., None],
) -> list[LineProblem]:
    found: list[LineProblem] = []
    # The text's limit is stricter with a header; before rendering, only literal text is sure to be there.
    has_header = any(_present(buttons.get(field), rendered) for field in ("image_url", "title"))
    buttons_text = _what(n_("the buttons text"))
    too_long(("buttons", "title"), _what(n_("the buttons title")), TITLE_MAX)
    required(("buttons", "text"), buttons_text)
    if has_header:
        too_long(("buttons", "text"), buttons_text, BUTTONS_TEXT_WITH_HEADER_MAX, True)
    else:
        too_long(("buttons", "text"), buttons_text, BUTTONS_TEXT_MAX)
    url(("buttons", "image_url"), _what(n_("the buttons image URL")), ("https://",), IMAGE_URL_MAX, True)
    actions = buttons.get("actions")
    if isinstance(actions, list):
        if not actions or len(actions) > ACTIONS_MAX:
            sentence = n_("a LINE buttons message has {count} buttons; it needs 1 to {limit}")
            found.append(
                LineProblem(("buttons", "actions"), Phrase(sentence, {"count": len(actions), "limit": ACTIONS_MAX}))
            )
        for index in range(len(actions)):
            label = _what(n_("the label of button {number}"), number=index + 1)
            required(("buttons", "actions", index, "label"), label)
            too_long(("buttons", "actions", index, "label"), label, LABEL_MAX)
            where = _what(n_("the URL of button {number}"), number=index + 1)
            url(("buttons", "actions", index, "url"), where, ACTION_SCHEMES, ACTION_URL_MAX)
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
