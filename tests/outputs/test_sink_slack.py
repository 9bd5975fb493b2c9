"""Slack sink: the pure payload layout, and real slack-sdk calls (webhook and Web API) to a local server."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from rules.priority import Priority
from stages.sinks import SinkError
from stages.sinks.slack import SlackSink, render_payload
from tests.outputs.conftest import make_alert, make_config

LONG = "x" * 40


def test_render_payload_layout_all():
    """Attachment coloured by priority, text = alert line, fields in Falcosidekick's order with sorted keys."""
    alert = make_alert(priority=Priority.CRITICAL, fields={"proc.name": "cat", "fd.name": LONG, "k8s.pod": None},
                       tags=("b", "a"))
    payload = render_payload(alert, output="LINE", username="Saker", icon="https://i/x.png", footer="f",
                             channel="#sec", time_text="2026-01-31T09:41:22.118204311Z")
    assert payload == {
        "text": "", "username": "Saker", "icon_url": "https://i/x.png", "channel": "#sec",
        "attachments": [{
            "fallback": "LINE", "color": "#ff5400", "text": "LINE", "footer": "f",
            "fields": [
                {"title": "rule", "value": "Read sensitive file", "short": True},
                {"title": "priority", "value": "Critical", "short": True},
                {"title": "source", "value": "syscall", "short": True},
                {"title": "hostname", "value": "build-07", "short": True},
                {"title": "tags", "value": "a, b", "short": True},
                {"title": "fd.name", "value": LONG, "short": False},
                {"title": "k8s.pod", "value": "<NA>", "short": True},
                {"title": "proc.name", "value": "cat", "short": True},
                {"title": "time", "value": "2026-01-31T09:41:22.118204311Z", "short": False},
            ],
        }],
    }


def test_render_payload_text_and_fields_formats():
    """output_format text has no fields, fields has no text; colours follow the priority."""
    text_only = render_payload(make_alert(priority=Priority.NOTICE), output="L", output_format="text")
    assert text_only["attachments"][0] == {"fallback": "L", "color": "#5bffb5", "text": "L"}
    fields_only = render_payload(make_alert(priority=Priority.DEBUG, hostname=""), output="L",
                                 output_format="fields")["attachments"][0]
    assert "text" not in fields_only and fields_only["color"] == "#ccfff2"
    assert [f["title"] for f in fields_only["fields"]] == ["rule", "priority", "source", "tags", "fd.name", "n",
                                                            "time"]


def test_webhook_delivery_through_slack_sdk(http_server):
    """WebhookClient POSTs the rendered payload as JSON to the webhook URL."""
    config = make_config(slack_output={"enabled": True, "webhook_url": http_server.url("/services/T0/B0/XYZ"),
                                       "footer": "saker"})
    sink = SlackSink(config.slack_output, config)
    alerts = [make_alert(0), make_alert(1, priority=Priority.ERROR)]
    sink.deliver(alerts)
    requests = http_server.recorder.requests
    assert [r["path"] for r in requests] == ["/services/T0/B0/XYZ"] * 2
    assert [json.loads(r["body"]) for r in requests] == [sink.payload(a) for a in alerts]
    assert json.loads(requests[1]["body"])["attachments"][0]["color"] == "#e20b0b"


def test_bot_token_delivery_through_web_api(http_server):
    """With token + channel, chat.postMessage is called on api_url with the token and the attachment."""
    http_server.recorder.reply = b'{"ok": true, "channel": "C1", "ts": "1.2"}'
    config = make_config(slack_output={"enabled": True, "token": "xoxb-secret-token", "channel": "#alerts",
                                       "api_url": http_server.url("/api/")})
    sink = SlackSink(config.slack_output, config)
    sink.deliver([make_alert(4)])
    request = http_server.recorder.requests[0]
    assert request["path"] == "/api/chat.postMessage"
    assert request["headers"]["Authorization"] == "Bearer xoxb-secret-token"
    body = request["body"].decode()
    sent = json.loads(body) if body.startswith("{") else {k: v[0] for k, v in parse_qs(body).items()}
    attachments = sent["attachments"] if isinstance(sent["attachments"], list) else json.loads(sent["attachments"])
    assert sent["channel"] == "#alerts"
    assert attachments == sink.payload(make_alert(4))["attachments"]


def test_slack_errors_never_show_the_webhook_or_token(http_server):
    """A rejected webhook or API call raises SinkError without the secret URL or token."""
    http_server.recorder.status = 403
    http_server.recorder.reply = b"invalid_token"
    config = make_config(slack_output={"enabled": True, "webhook_url": http_server.url("/services/SECRET123")})
    with pytest.raises(SinkError) as caught:
        SlackSink(config.slack_output, config).deliver([make_alert(0)])
    assert "SECRET123" not in str(caught.value) and "403" in str(caught.value)

    http_server.recorder.status = 200
    http_server.recorder.reply = b'{"ok": false, "error": "invalid_auth"}'
    config = make_config(slack_output={"enabled": True, "token": "xoxb-TOPSECRET", "channel": "#c",
                                       "api_url": http_server.url("/api/")})
    with pytest.raises(SinkError) as caught:
        SlackSink(config.slack_output, config).deliver([make_alert(0)])
    assert "invalid_auth" in str(caught.value) and "TOPSECRET" not in str(caught.value)
