"""Rich LINE messages (image, buttons, link): rendered from a plan template, checked against LINE's limits, pushed
by the LineAdapter to a loopback stand-in that validates every message against LINE's OpenAPI description."""

from __future__ import annotations

import json
import subprocess
import urllib.parse
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ecrm_dsl.delivery.line import LineAdapter, line_messages
from ecrm_dsl.delivery.outbox import REDACTED, outbox_record
from ecrm_dsl.delivery.render import render
from ecrm_dsl.language.line_limits import line_problems
from tests.test_delivery_line import TOKEN, StartLine, ok, payload_problems
from tests.test_delivery_line import line as line
from tests.test_delivery_render import example_plan
from tests.test_delivery_support import RECIPIENT, make_message
from tests.test_operator_cli import deployed_with_a_first_order, ecrm
from tests.test_operator_cli import project as project

SHOP = {"name": "みのり堂", "url": "https://minori.example", "support_email": "support@minori.example"}
CUSTOMER = {"id": "c-1001", "name": "山田 花子"}
PARAMS = {"coupon_code": "春&夏 10%OFF", "image_url": "https://cdn.minori.example/spring.jpg"}

IMAGE = {"url": "{{ image_url }}", "preview_url": "https://cdn.minori.example/spring_s.jpg"}
BUTTONS = {
    "image_url": "{{ image_url }}",
    "title": "{{ customer.name }}さんへ",
    "text": "2回目のお買い物に使えるクーポン: {{ coupon_code }}",
    "actions": [
        {"label": "クーポンを使う", "url": "{{ shop.url }}/cart?coupon={{ coupon_code }}"},
        {"label": "お問い合わせ", "url": "tel:0120-000-000"},
    ],
}
LINK = {"text": "使い方の動画はこちら", "label": "動画を見る", "url": "{{ shop.url }}/howto?name={{ customer.name }}"}
KINDS: dict[str, dict[str, Any]] = {
    "text": {"text": "{{ customer.name }}さん、こんにちは"},
    "image": {"image": IMAGE},
    "buttons": {"buttons": BUTTONS, "alt_text": "クーポンが届きました"},
    "link": {"link": LINK, "alt_text": "使い方の動画"},
    "all": {
        "text": "{{ customer.name }}さん",
        "image": IMAGE,
        "buttons": BUTTONS,
        "link": LINK,
        "alt_text": "お知らせ",
    },
}


def rendered(line_content: dict[str, Any], **params: str) -> dict[str, Any]:
    template = {"category": "marketing", "content": {"line": line_content}, "params": {"coupon_code": "string"}}
    return render(
        template,
        "line",
        customer=CUSTOMER,
        params={**PARAMS, **params},
        event={},
        shop=SHOP,
        unsubscribe_url=None,
    )


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_is_a_valid_push(line: StartLine, kind: str) -> None:
    server, violations = line(ok("req-1"))
    content = rendered(KINDS[kind])
    result = LineAdapter(TOKEN, server.url).send(make_message("line", content=content))
    assert result.status == "sent", result.error
    assert violations == []
    [request] = server.requests
    types = [m["type"] for m in request.json()["messages"]]
    expected = {"text": ["text"], "image": ["image"], "buttons": ["template"], "link": ["template"]}
    assert types == expected.get(kind, ["text", "image", "template", "template"])


def test_buttons_payload() -> None:
    [message] = line_messages(rendered(KINDS["buttons"]))
    code = urllib.parse.quote("春&夏 10%OFF", safe="")
    assert message == {
        "type": "template",
        "altText": "クーポンが届きました",
        "template": {
            "type": "buttons",
            "thumbnailImageUrl": "https://cdn.minori.example/spring.jpg",
            "title": "山田 花子さんへ",
            "text": "2回目のお買い物に使えるクーポン: 春&夏 10%OFF",
            "actions": [
                {"type": "uri", "label": "クーポンを使う", "uri": f"https://minori.example/cart?coupon={code}"},
                {"type": "uri", "label": "お問い合わせ", "uri": "tel:0120-000-000"},
            ],
        },
    }


def test_values_spliced_into_a_url_are_percent_encoded_but_a_leading_address_is_kept() -> None:
    content = rendered(KINDS["link"])
    url = content["link"]["url"]
    assert url == "https://minori.example/howto?name=%E5%B1%B1%E7%94%B0%20%E8%8A%B1%E5%AD%90"
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(url).query) == {"name": ["山田 花子"]}
    tricky = rendered(KINDS["buttons"], coupon_code="a&admin=1#x")["buttons"]["actions"][0]["url"]
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(tricky).query) == {"coupon": ["a&admin=1#x"]}
    assert content["link"]["text"] == "使い方の動画はこちら"  # text fields are not encoded


def test_the_schema_check_sees_inside_templates_and_actions() -> None:
    [good] = line_messages(rendered(KINDS["buttons"]))
    assert payload_problems("Message", good) == []
    no_text = json.loads(json.dumps(good))
    del no_text["template"]["text"]
    assert any("'text' is a required property" in p for p in payload_problems("Message", no_text))
    bad_action = json.loads(json.dumps(good))
    bad_action["template"]["actions"][0]["type"] = "teleport"
    assert any("unknown Action type 'teleport'" in p for p in payload_problems("Message", bad_action))


@pytest.mark.parametrize(
    ("content", "params", "sentence"),
    [
        (KINDS["image"], {"image_url": "http://cdn.minori.example/a.jpg"}, "the image URL must start with https://"),
        (
            KINDS["buttons"],
            {"coupon_code": "X" * 43},
            "the buttons text is 61 characters; LINE allows at most 60 with an image or a title",
        ),
        (
            {
                "buttons": {**BUTTONS, "actions": [{"label": "{{ coupon_code }}", "url": "https://minori.example"}]},
                "alt_text": "クーポン",
            },
            {"coupon_code": "とても長いクーポンの名前が入ってしまった例です"},
            "the label of button 1 is 23 characters; LINE allows at most 20",
        ),
        ({"link": LINK, "alt_text": "{{ coupon_code }}"}, {"coupon_code": " "}, "needs alt_text"),
    ],
)
def test_a_rendered_message_over_a_limit_is_a_failure_with_a_sentence(
    line: StartLine,
    content: dict[str, Any],
    params: dict[str, str],
    sentence: str,
) -> None:
    server, _ = line()
    message = make_message("line", content=rendered(content, **params))
    result = LineAdapter(TOKEN, server.url).send(message)
    assert result.status == "permanent"
    assert result.error is not None and result.error.startswith("not sent: ") and sentence in result.error
    assert "山田" not in result.error and "cdn.minori" not in result.error  # no content in the recorded error
    assert server.requests == []


def test_a_text_that_renders_blank_is_left_out_but_nothing_at_all_is_refused(line: StartLine) -> None:
    server, _ = line()
    adapter = LineAdapter(TOKEN, server.url)
    with_image = rendered({"text": "{{ coupon_code }}", "image": IMAGE}, coupon_code="")
    assert [m["type"] for m in line_messages(with_image)] == ["image"]
    result = adapter.send(make_message("line", content=rendered({"text": "{{ coupon_code }}"}, coupon_code="")))
    assert (result.status, result.error) == ("permanent", "empty LINE text")
    assert server.requests == []


def test_the_example_coupon_with_a_button_is_a_valid_push(line: StartLine) -> None:
    plan = example_plan()
    template = plan["templates"]["cart_reminder_coupon"]
    assert template["content"]["line"]["buttons"]["actions"][0]["label"] == "クーポンを使う"
    content = render(
        template,
        "line",
        customer=CUSTOMER,
        params={"coupon_code": "CART-300", "discount": {"money": 300}},
        event={},
        shop=SHOP,
        unsubscribe_url=None,
    )
    assert line_problems(content, rendered=True) == []
    server, violations = line(ok("req-7"))
    assert LineAdapter(TOKEN, server.url).send(make_message("line", content=content)).status == "sent"
    assert violations == []
    [request] = server.requests
    [_, buttons] = request.json()["messages"]
    assert buttons["template"]["title"] == "300円 OFFクーポン"
    assert buttons["template"]["actions"][0]["uri"] == "https://minori.example/cart?coupon=CART-300"


def test_the_file_outbox_redacts_contact_details_inside_rich_content() -> None:
    content = rendered(KINDS["all"])
    record = outbox_record(make_message("line", content=content))
    text = json.dumps(record, ensure_ascii=False)
    assert RECIPIENT.name is not None and RECIPIENT.name not in text
    assert record["content"]["buttons"]["title"] == f"{REDACTED}さんへ"
    assert record["content"]["buttons"]["actions"][1] == {"label": "お問い合わせ", "url": "tel:0120-000-000"}
    no_name = replace(RECIPIENT, name=None)
    assert outbox_record(make_message("line", content=content, recipient=no_name))["content"] == json.loads(
        json.dumps({k: content[k] for k in sorted(content)}, ensure_ascii=False)
    )


# --------------------------------------------------------------------------- through `ecrm run`, in a fresh process

COUPON_WITH_BUTTON = """\
  line:
    text: "{{ customer.name }}様、次回使える10%OFFクーポンです"
    alt_text: 10%OFFクーポン
    buttons:
      title: "{{ customer.name }}様へ"
      text: "コード: {{ coupon_code }}"
      actions:
        - {label: クーポンを使う, url: "{{ shop.url }}/cart?coupon={{ coupon_code }}"}
"""


def with_button(project: Path) -> None:
    """The starter's day-7 coupon (sent by LINE) with a button; lint stays clean."""
    template = project / "templates" / "repeat_coupon.yaml"
    text = template.read_text(encoding="utf-8")
    template.write_text(text[: text.index("  line:\n")] + COUPON_WITH_BUTTON, encoding="utf-8")
    assert ecrm(project, "lint").returncode == 0


def run_week(project: Path, server_url: str, **env: str) -> subprocess.CompletedProcess[str]:
    env = {"ECRM_LINE_CHANNEL_TOKEN": TOKEN, "ECRM_LINE_BASE_URL": server_url, **env}
    for moment in ("2025-03-02T10:00+09:00", "2025-03-08T10:00+09:00"):
        done = ecrm(project, "run", "--once", "--now", moment, "--file-outbox", "outbox", env=env)
        assert done.returncode == 0, done.stderr
    return done


def test_the_scheduler_pushes_a_valid_buttons_message(project: Path, line: StartLine) -> None:
    with_button(project)
    deployed_with_a_first_order(project)
    server, violations = line(ok("req-9"))
    done = run_week(project, server.url, ECRM_SHOP_URL="https://minori.example")
    assert "deliveries: delivered 1 (line 1), retrying 0, failed 0" in done.stdout
    assert violations == []
    [push] = server.requests
    [text, buttons] = push.json()["messages"]
    assert text == {"type": "text", "text": "山田花子様、次回使える10%OFFクーポンです"}
    assert buttons["template"]["title"] == "山田花子様へ"
    assert buttons["template"]["actions"] == [
        {"type": "uri", "label": "クーポンを使う", "uri": "https://minori.example/cart?coupon=F2OFF10"}
    ]


def test_a_rendered_message_over_a_limit_is_recorded_as_failed_with_the_reason(project: Path, line: StartLine) -> None:
    with_button(project)
    deployed_with_a_first_order(project)
    server, _ = line()
    done = run_week(project, server.url)  # no ECRM_SHOP_URL: the button's link renders as "/cart?coupon=…"
    assert "failed 1" in done.stdout and "Traceback" not in done.stderr
    assert server.requests == []
    explained = ecrm(project, "explain", "c1")
    assert "the URL of button 1 must start with https://" in explained.stdout, explained.stdout


def test_the_buttons_text_limit_depends_on_a_header_that_is_really_there(line: StartLine) -> None:
    long_text = "あ" * 100  # over 60, within 160
    header_by_placeholder = {"title": "{{ coupon_code }}", "text": long_text, "actions": BUTTONS["actions"]}
    content = {"buttons": header_by_placeholder, "alt_text": "お知らせ"}
    assert line_problems(content, rendered=False) == []  # the title may render empty: only the send can tell
    literal_title = {"buttons": {**header_by_placeholder, "title": "ご案内"}, "alt_text": "お知らせ"}
    [problem] = line_problems(literal_title, rendered=False)
    assert problem.path == ("buttons", "text") and "at most 60 with an image or a title" in problem.message
    server, violations = line(ok("req-2"))
    empty_header = rendered(
        {**content, "buttons": {**header_by_placeholder, "image_url": "{{ image_url }}"}}, coupon_code="", image_url=""
    )
    assert LineAdapter(TOKEN, server.url).send(make_message("line", content=empty_header)).status == "sent"
    assert violations == []
    [push] = server.requests
    assert set(push.json()["messages"][0]["template"]) == {"type", "text", "actions"}  # no empty title or image
    titled = rendered(content, coupon_code="春のクーポン")
    assert [p.message for p in line_problems(titled, rendered=True)] == [
        "the buttons text is 100 characters; LINE allows at most 60 with an image or a title"
    ]
