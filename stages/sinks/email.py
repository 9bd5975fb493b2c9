"""Alerts by e-mail with smtplib: STARTTLS or implicit TLS, optional AUTH, text or text+HTML bodies.

Layout after Falcosidekick's SMTP output: subject `[<Priority>] <alert line>`; a plain part listing Priority,
Output, Rule, Source, Hostname, Tags, Time and then `key: value` per output field; with `format: html` a
multipart/alternative adding an HTML table coloured by priority. `digest` > 1 puts up to that many alerts in
one mail (the router waits up to `digest_seconds` to fill it); the subject then names the most severe
priority and the count. One SMTP session per delivery. The password never appears in messages.
"""

from __future__ import annotations

import email.policy
import html
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from rules.output_format import format_json_time
from stages.alert import Alert
from stages.sinks.base import Sink, SinkError, describe

COLORS = {
    "Emergency": "#e20b0b", "Alert": "#ff5400", "Critical": "#ff9000", "Error": "#ffc700",
    "Warning": "#ffff00", "Notice": "#5bffb5", "Informational": "#68c2ff", "Debug": "#ccfff2",
}


# SMTP line limit instead of the 78-column folding, which splits a long subject before its first word.
_POLICY = email.policy.SMTP.clone(max_line_length=998)


def _one_line(text: str, limit: int = 250) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def subject(alerts: list[Alert], lines: list[str]) -> str:
    """`[<Priority>] <alert line>`; for a digest `[<most severe>] <n> alerts: <first alert line>`."""
    if len(alerts) == 1:
        return _one_line(f"[{alerts[0].priority_name}] {lines[0]}")
    worst = min(alerts, key=lambda a: int(a.priority)).priority_name
    return _one_line(f"[{worst}] {len(alerts)} alerts: {lines[0]}")


def _rows(alert: Alert, line: str) -> list[tuple[str, str]]:
    rows = [("Priority", alert.priority_name), ("Output", line), ("Rule", alert.rule), ("Source", alert.source),
            ("Hostname", alert.hostname), ("Tags", ", ".join(sorted(alert.tags))),
            ("Time", format_json_time(alert.time_ns))]
    if alert.count > 1:
        rows.append(("Count", str(alert.count)))
    rows.extend((key, "<NA>" if value is None else str(value)) for key, value in sorted(alert.output_fields.items()))
    return rows


def text_body(alerts: list[Alert], lines: list[str]) -> str:
    blocks = ["\n".join(f"{name}: {value}" for name, value in _rows(alert, line))
              for alert, line in zip(alerts, lines, strict=True)]
    return "\n\n".join(blocks) + "\n"


def html_body(alerts: list[Alert], lines: list[str]) -> str:
    tables = []
    for alert, line in zip(alerts, lines, strict=True):
        color = COLORS[alert.priority_name]
        cells = "".join(f'<tr><td style="font-weight:bold;padding:2px 8px">{html.escape(name)}</td>'
                        f'<td style="padding:2px 8px">{html.escape(value)}</td></tr>'
                        for name, value in _rows(alert, line))
        tables.append(f'<table style="border-left:6px solid {color};margin-bottom:12px;font-family:monospace">'
                      f'<tr><th colspan="2" style="background:{color};text-align:left;padding:4px 8px">'
                      f'{html.escape(alert.priority_name)}: {html.escape(alert.rule)}</th></tr>{cells}</table>')
    return "<!DOCTYPE html><html><body>" + "".join(tables) + "</body></html>"


def build_message(alerts: list[Alert], lines: list[str], *, sender: str, recipients: list[str],
                  fmt: str) -> EmailMessage:
    """The mail for one alert or one digest; `lines` are the alerts' text lines."""
    message = EmailMessage(policy=_POLICY)
    message["Subject"] = subject(alerts, lines)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(text_body(alerts, lines))
    if fmt == "html":
        message.add_alternative(html_body(alerts, lines), subtype="html")
    return message


class EmailSink(Sink):
    """Mails alerts through `host:port`."""

    name = "email"

    def __init__(self, settings: Any, config: Any) -> None:
        super().__init__(settings, config)
        if not settings.from_ or not settings.to:
            raise ValueError("email_output needs 'from' and 'to'")
        self.tls_context = ssl.create_default_context(cafile=getattr(settings, "ca_cert", "") or None)

    def secrets(self) -> tuple[str, ...]:
        return (self.settings.password,)

    def batching(self) -> tuple[int, float]:
        return self.settings.digest, (getattr(self.settings, "digest_seconds", 60.0) if self.settings.digest > 1
                                      else 0.0)

    def deliver(self, alerts: list[Alert]) -> None:
        size = self.settings.digest
        groups = [alerts[i:i + size] for i in range(0, len(alerts), size)]
        sent = 0
        try:
            with self._session() as smtp:
                for group in groups:
                    lines = [alert.to_text(self.config) for alert in group]
                    smtp.send_message(build_message(group, lines, sender=self.settings.from_,
                                                    recipients=list(self.settings.to), fmt=self.settings.format))
                    sent += len(group)
        except (smtplib.SMTPException, OSError) as exc:
            if sent == len(alerts):  # all mails accepted; only the QUIT failed
                return
            raise SinkError(f"smtp to {self.settings.host}:{self.settings.port}: {describe(exc)}",
                            delivered=sent, secrets=self.secrets()) from None

    def _session(self) -> smtplib.SMTP:
        settings = self.settings
        timeout = getattr(settings, "timeout", 30.0)
        if settings.tls == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout,
                                                  context=self.tls_context)
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
        try:
            smtp.ehlo()
            if settings.tls == "starttls":
                smtp.starttls(context=self.tls_context)
                smtp.ehlo()
            if settings.user:
                smtp.login(settings.user, settings.password)
        except BaseException:
            smtp.close()
            raise
        return smtp
