"""Render a plan template for one customer: plain, single-pass placeholder substitution.

No template engine: a placeholder is looked up and replaced by text, nothing is evaluated, and the result is
never scanned again, so a value that itself contains ``{{ ... }}`` stays literal text (no template injection).
"""

from __future__ import annotations

import html
import re
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from ecrm_dsl.language.line_limits import URL_FIELDS
from ecrm_dsl.language.placeholders import PLACEHOLDER, PRODUCT_FIELDS

SHOP_FIELDS = ("name", "url", "support_email")


class RenderError(ValueError):
    """A template cannot be rendered: no content for the channel, or a placeholder nothing defines."""


def render(
    template: Mapping[str, Any],
    channel: str,
    *,
    customer: Mapping[str, Any],
    params: Mapping[str, Any],
    event: Mapping[str, Any],
    shop: Mapping[str, str],
    unsubscribe_url: str | None,
    products: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The channel's fields with every placeholder replaced; for webhook, the rendered payload fields; for LINE,
    the same nested content (image, buttons, link) with each text and URL rendered.

    ``template`` is the plan's template entry (``{"content": {channel: {field: text}}, "params": {...}, ...}``).
    ``products``: the product namespaces' values (``order``, ``last_purchase``, ``recommendation``), for a
    template that uses them. Missing values render as ``""``; only a placeholder that no namespace defines raises
    :class:`RenderError`.
    """
    content = (template.get("content") or {}).get(channel)
    if not isinstance(content, Mapping):
        raise RenderError(f"template has no content for channel {channel!r}")
    fields = content.get("payload", {}) if channel == "webhook" else content
    declared = template.get("params") or {}

    def lookup(name: str) -> Any:
        scope, dot, rest = name.partition(".")
        if name == "unsubscribe_url":
            return unsubscribe_url
        if scope == "shop" and rest in SHOP_FIELDS:
            return shop.get(rest)
        if scope == "customer" and rest:
            return customer.get(rest)
        if scope == "event" and rest:
            return event.get(rest)
        if scope == "coupon" and rest:  # drawn at the send and kept with the delivery's params
            return (params.get("coupon") or {}).get(rest)
        if scope in PRODUCT_FIELDS and rest in PRODUCT_FIELDS[scope]:
            return (products or {}).get(scope, {}).get(rest)
        if not dot and (name in declared or name in params):
            return params.get(name)
        raise RenderError(f"unknown placeholder {{{{ {name} }}}} in channel {channel!r}")

    if channel == "line":
        return render_line(fields, lookup)
    rendered: dict[str, Any] = {}
    for field, text in fields.items():
        # Values spliced into HTML are escaped: a customer name must not become markup in the mail.
        escape = html.escape if channel == "email" and field == "html" else None
        rendered[field] = substitute(str(text), lookup, escape)
    return rendered


def render_line(content: Mapping[str, Any], lookup: Callable[[str], Any]) -> dict[str, Any]:
    """LINE content (text, image, buttons, link) with every text and URL field rendered, the shape kept."""

    def walk(value: Any, field: str) -> Any:
        if isinstance(value, Mapping):
            return {key: walk(sub, key) for key, sub in value.items()}
        if isinstance(value, list):
            return [walk(sub, field) for sub in value]
        if field in URL_FIELDS:
            return substitute_url(str(value), lookup)
        return substitute(str(value), lookup)

    return {field: walk(value, field) for field, value in content.items()}


def substitute_url(url: str, lookup: Callable[[str], Any]) -> str:
    """A URL with its placeholders replaced: a value spliced into it is percent-encoded (a coupon code with
    ``&`` or a Japanese name stays one query value), except one that starts the URL, which is the address itself
    (``{{ shop.url }}/cart``) and is kept as it is."""

    def replace(match: re.Match[str]) -> str:
        value = format_value(lookup(match.group(1)))
        return value if match.start() == 0 else urllib.parse.quote(value, safe="")

    return PLACEHOLDER.sub(replace, url.strip())


def product_namespaces(content: Any) -> frozenset[str]:
    """The product namespaces the placeholders of ``content`` (texts, nested in mappings and lists) use: a
    message looks up only what it shows."""
    if isinstance(content, str):
        return frozenset(
            scope for m in PLACEHOLDER.finditer(content) if (scope := m.group(1).partition(".")[0]) in PRODUCT_FIELDS
        )
    if isinstance(content, Mapping):
        content = list(content.values())
    if isinstance(content, list | tuple):
        return frozenset().union(*(product_namespaces(item) for item in content))
    return frozenset()


def substitute(text: str, lookup: Callable[[str], Any], escape: Callable[[str], str] | None = None) -> str:
    """Replace each placeholder once; ``re.sub`` never rescans what it inserted."""

    def replace(match: re.Match[str]) -> str:
        value = format_value(lookup(match.group(1)))
        return escape(value) if escape else value

    return PLACEHOLDER.sub(replace, text)


def mark_money(values: Mapping[str, Any], types: Mapping[str, str]) -> dict[str, Any]:
    """``values`` with each whole-yen number whose declared type is money wrapped as ``{"money": n}``.

    The store keeps money as plain integers; wrapping them (with the customer schema's or the event's types)
    makes ``{{ event.amount }}`` render as ``3,980円`` like a money param does.
    """
    return {
        name: {"money": value}
        if types.get(name) == "money" and isinstance(value, int) and not isinstance(value, bool)
        else value
        for name, value in values.items()
    }


def format_value(value: Any) -> str:
    """Text for one value: money as ``3,000円``, None as empty, lists joined with 、, anything else ``str()``."""
    if value is None:
        return ""
    if isinstance(value, Mapping) and set(value) == {"money"}:
        return f"{int(value['money']):,}円"
    if isinstance(value, list | tuple):
        return "、".join(format_value(v) for v in value)
    return str(value)
