"""render(): placeholder substitution from plan templates — namespaces, Japanese, money, errors, no injection."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest

from ecrm_dsl.build.compiler import compile_workspace
from ecrm_dsl.delivery.render import RenderError, format_value, mark_money, render
from ecrm_dsl.language.catalog import EVENTS
from ecrm_dsl.project.config import load_config
from ecrm_dsl.project.lint import lint

SHOP = {"name": "みのり堂", "url": "https://minori.example", "support_email": "support@minori.example"}
UNSUBSCRIBE = "https://minori.example/unsubscribe?c=c-1&t=x"
CUSTOMER = {"id": "c-1", "name": "山田 花子", "points": 1200, "total_spent": {"money": 32800}}
EVENT = {"order_id": "A-1001", "amount": {"money": 3980}, "satisfaction": 2}


def template(content: dict[str, dict[str, Any]], params: dict[str, str] | None = None) -> dict[str, Any]:
    """A plan template entry, as compiler._template writes it."""
    return {
        "title": "t",
        "category": "marketing",
        "content": content,
        "channels": sorted(content),
        "params": params or {},
        "hash": "sha256:0",
    }


def run(tmpl: dict[str, Any], channel: str = "email", **overrides: Any) -> dict[str, str]:
    arguments: dict[str, Any] = {
        "customer": CUSTOMER,
        "params": {},
        "event": EVENT,
        "shop": SHOP,
        "unsubscribe_url": UNSUBSCRIBE,
    }
    arguments.update(overrides)
    return render(tmpl, channel, **arguments)


def test_every_placeholder_namespace_in_japanese() -> None:
    body = (
        "{{ customer.name }} 様\nクーポン: {{ coupon_code }}({{ discount }} OFF)\n"
        "ご注文 {{event.order_id}} / {{  event.amount  }}\n{{ shop.name }} {{ shop.url }}/cart "
        "{{ shop.support_email }}\n配信停止: {{ unsubscribe_url }}"
    )
    tmpl = template({"email": {"subject": "{{ customer.name }} 様へ", "body": body}}, {"coupon_code": "string"})
    out = run(tmpl, params={"coupon_code": "F2-500", "discount": {"money": 500}})
    assert out == {
        "subject": "山田 花子 様へ",
        "body": "山田 花子 様\nクーポン: F2-500(500円 OFF)\nご注文 A-1001 / 3,980円\n"
        "みのり堂 https://minori.example/cart support@minori.example\n配信停止: " + UNSUBSCRIBE,
    }


def test_values_are_formatted_as_text() -> None:
    assert format_value({"money": 3000}) == "3,000円"
    assert format_value({"money": 1234567}) == "1,234,567円"
    assert format_value(None) == ""
    assert format_value(15) == "15"
    assert format_value(["乾燥肌", "敏感肌"]) == "乾燥肌、敏感肌"
    out = run(template({"line": {"text": "{{ customer.points }}pt / 累計 {{ customer.total_spent }}"}}), "line")
    assert out == {"text": "1200pt / 累計 32,800円"}


def test_store_integers_typed_as_money_render_as_yen() -> None:
    event = mark_money({"amount": 3980, "cart_id": "K-1", "item_count": 2}, EVENTS["cart.abandoned"])
    assert event == {"amount": {"money": 3980}, "cart_id": "K-1", "item_count": 2}
    assert run(template({"sms": {"text": "合計 {{ event.amount }}"}}), "sms", event=event) == {"text": "合計 3,980円"}


def test_missing_values_render_empty() -> None:
    tmpl = template(
        {"line": {"text": "[{{ customer.nickname }}][{{ coupon_code }}][{{ event.cart_id }}][{{ unsubscribe_url }}]"}},
        {"coupon_code": "string"},
    )
    assert run(tmpl, "line", unsubscribe_url=None) == {"text": "[][][][]"}
    assert run(tmpl, "line", customer={"name": None}, event={}) == {"text": "[][][][" + UNSUBSCRIBE + "]"}


@pytest.mark.parametrize("name", ["coupon", "shop.phone", "order.id", "customer", "event"])
def test_unknown_placeholders_are_errors(name: str) -> None:
    with pytest.raises(RenderError, match=name.replace(".", r"\.")):
        run(template({"sms": {"text": "x {{ " + name + " }} y"}}), "sms")


def test_a_channel_without_content_is_an_error() -> None:
    with pytest.raises(RenderError, match="push"):
        run(template({"email": {"subject": "s", "body": "b"}}), "push")


def test_values_are_never_expanded_again() -> None:
    sneaky = {"name": "{{ unsubscribe_url }}{{ shop.name }}{{ nope }}", "bio": "{0.__class__} ${x} {% raw %}"}
    tmpl = template({"line": {"text": "{{ customer.name }}|{{ customer.bio }}|{{ coupon_code }}"}})
    out = run(tmpl, "line", customer=sneaky, params={"coupon_code": "{{ customer.name }}"})
    assert out == {
        "text": "{{ unsubscribe_url }}{{ shop.name }}{{ nope }}|{0.__class__} ${x} {% raw %}|{{ customer.name }}"
    }


def test_values_in_html_are_escaped_but_not_in_text() -> None:
    tmpl = template(
        {
            "email": {
                "subject": "{{ customer.name }}",
                "body": "{{ customer.name }}",
                "html": "<p>{{ customer.name }}</p>",
            }
        }
    )
    out = run(tmpl, customer={"name": '<img src=x onerror="alert(1)">&'})
    assert out["html"] == "<p>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;</p>"
    assert out["subject"] == out["body"] == '<img src=x onerror="alert(1)">&'


def test_webhook_payload_fields_are_rendered() -> None:
    tmpl = template(
        {
            "webhook": {
                "payload": {
                    "queue": "cs-priority",
                    "customer_id": "{{ customer.id }}",
                    "order_id": "{{ event.order_id }}",
                    "satisfaction": "{{ event.satisfaction }}",
                }
            }
        }
    )
    assert run(tmpl, "webhook") == {
        "queue": "cs-priority",
        "customer_id": "c-1",
        "order_id": "A-1001",
        "satisfaction": "2",
    }


@functools.cache
def example_plan() -> dict[str, Any]:
    config = load_config(Path(__file__).parents[1] / "pyproject.toml")
    return compile_workspace(lint(config).workspace)[0]


def test_every_send_of_the_example_plan_renders() -> None:
    plan = example_plan()
    sends = [(s, n) for s in plan["scenarios"] for n in s["nodes"] if n["kind"] == "send"]
    assert sends
    for scenario, node in sends:
        tmpl = plan["templates"][node["template"]]
        for channel in [node["channel"], *node["fallback"]]:
            out = run(tmpl, channel, params=node["params"])
            assert out and all("{{" not in text for text in out.values()), (scenario["id"], node["id"], channel)
            if channel == "email" and tmpl["category"] == "marketing":
                assert UNSUBSCRIBE in out["body"]
