"""Alerts to Slack through slack-sdk, laid out like Falcosidekick's Slack output.

Two ways in: an incoming-webhook URL (`webhook_url`, posted with `slack_sdk.webhook.WebhookClient`), or a bot
token and channel (`token` + `channel`, `slack_sdk.WebClient.chat_postMessage` against `api_url`). The
payload is built by the pure `render_payload`: one attachment coloured by priority, the alert line as text
(`output_format` all/text), and fields (all/fields) rule, priority, source, hostname, tags, each
output field sorted by name, then the time. Webhook URL and token are secrets: never in messages.
"""

from __future__ import annotations

import logging
from typing import Any

from stages.alert import Alert
from stages.sinks.base import Sink, SinkError, describe

COLORS = {
    "Emergency": "#e20b0b", "Alert": "#ff5400", "Critical": "#ff5400", "Error": "#e20b0b",
    "Warning": "#ffc700", "Notice": "#5bffb5", "Informational": "#68c2ff", "Debug": "#ccfff2",
}
_SHORT_BELOW = 36  # a field narrower than this shares its row with another


def _field(title: str, value: str, short: bool | None = None) -> dict[str, Any]:
    return {"title": title, "value": value, "short": len(value) < _SHORT_BELOW if short is None else short}


def _value_text(value: Any) -> str:
    if value is None:
        return "<NA>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(_value_text(v) for v in value)
    return str(value)


def render_payload(alert: Alert, *, output: str, output_format: str = "all", username: str = "Saker",
                   icon: str = "", footer: str = "", channel: str = "", time_text: str = "") -> dict[str, Any]:
    """The Slack message for one alert. `output` is the alert's text line, `time_text` its JSON time."""
    attachment: dict[str, Any] = {"fallback": output, "color": COLORS[alert.priority_name]}
    if output_format in ("all", "text"):
        attachment["text"] = output
    if output_format in ("all", "fields"):
        fields = [_field("rule", alert.rule, True), _field("priority", alert.priority_name, True),
                  _field("source", alert.source, True)]
        if alert.hostname:
            fields.append(_field("hostname", alert.hostname, True))
        if alert.tags:
            fields.append(_field("tags", ", ".join(sorted(alert.tags))))
        fields.extend(_field(key, _value_text(alert.output_fields[key])) for key in sorted(alert.output_fields))
        fields.append(_field("time", time_text, False))
        attachment["fields"] = fields
        if footer:
            attachment["footer"] = footer
    payload: dict[str, Any] = {"text": "", "username": username, "attachments": [attachment]}
    if icon:
        payload["icon_url"] = icon
    if channel:
        payload["channel"] = channel
    return payload


class SlackSink(Sink):
    """One Slack message per alert."""

    name = "slack"

    def __init__(self, settings: Any, config: Any) -> None:
        super().__init__(settings, config)
        if not settings.webhook_url and not (settings.token and settings.channel):
            raise ValueError("slack_output needs webhook_url, or token and channel")
        # slack-sdk logs request URLs (webhook secrets) at debug level: keep its logger above that.
        logging.getLogger("slack_sdk").setLevel(logging.WARNING)
        self._client: Any = None

    def secrets(self) -> tuple[str, ...]:
        return (self.settings.webhook_url, self.settings.token)

    def payload(self, alert: Alert) -> dict[str, Any]:
        from rules.output_format import format_json_time

        settings = self.settings
        return render_payload(alert, output=alert.to_text(self.config), output_format=settings.output_format,
                              username=settings.username, icon=settings.icon, footer=settings.footer,
                              channel=settings.channel, time_text=format_json_time(alert.time_ns))

    def deliver(self, alerts: list[Alert]) -> None:
        for done, alert in enumerate(alerts):
            try:
                self._send(self.payload(alert))
            except SinkError as exc:
                exc.delivered = done
                raise
            except Exception as exc:  # slack-sdk raises its own, urllib's and OSError: all are a failed send
                raise SinkError(f"slack: {describe(exc)}", delivered=done, secrets=self.secrets()) from None

    def _send(self, payload: dict[str, Any]) -> None:
        if self.settings.webhook_url:
            response = self._webhook().send_dict(payload)
            if response.status_code != 200:
                raise SinkError(f"slack webhook answered status {response.status_code}: {response.body[:200]}",
                                secrets=self.secrets())
            return
        self._web().chat_postMessage(**payload)

    def _webhook(self) -> Any:
        if self._client is None:
            from slack_sdk.webhook import WebhookClient

            self._client = WebhookClient(self.settings.webhook_url, timeout=30)
        return self._client

    def _web(self) -> Any:
        if self._client is None:
            from slack_sdk import WebClient

            self._client = WebClient(token=self.settings.token, base_url=self.settings.api_url, timeout=30)
        return self._client
