"""E-mail sink against a real aiosmtpd server: STARTTLS + AUTH, implicit TLS, digest, text and HTML parts."""

from __future__ import annotations

import email
import email.policy
import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from rules.priority import Priority
from stages.sinks import SinkError
from stages.sinks.email import EmailSink
from tests.outputs.conftest import free_port, make_alert, make_config

USER, PASSWORD = "saker", "pa55-w0rd-secret"


class Mailbox:
    """aiosmtpd handler keeping every accepted message."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


@pytest.fixture(name="smtp")
def fixture_smtp(certificate, request):
    """An SMTP server on 127.0.0.1; param "starttls" (default) or "ssl"."""
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    mode = getattr(request, "param", "starttls")
    mailbox = Mailbox()
    port = free_port()
    options = ({"tls_context": context, "require_starttls": True, "auth_require_tls": True} if mode == "starttls"
               else {"ssl_context": context, "auth_require_tls": False})
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, authenticator=_authenticate,
                            server_hostname="localhost", **options)
    controller.start()
    yield mailbox, port, str(cert), mode
    controller.stop()


def _sink(port: int, ca: str, mode: str, **settings) -> EmailSink:
    section = {"enabled": True, "host": "localhost", "port": port, "tls": mode, "user": USER, "password": PASSWORD,
               "from": "saker@example.org", "to": ["sec@example.org", "ops@example.org"], "ca_cert": ca, **settings}
    config = make_config(email_output=section)
    return EmailSink(config.email_output, config)


def test_starttls_auth_html_mail(smtp):
    """One mail per alert over STARTTLS with AUTH: subject, envelope, text part and coloured HTML part."""
    mailbox, port, ca, mode = smtp
    sink = _sink(port, ca, mode)
    alert = make_alert(priority=Priority.CRITICAL, fields={"proc.name": "cat", "user.name": "root"})
    sink.deliver([alert])
    (sender, recipients, message), = mailbox.messages
    line = alert.to_text(make_config())
    assert sender == "saker@example.org" and recipients == ["sec@example.org", "ops@example.org"]
    assert message["Subject"] == f"[Critical] {line}"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    assert text.splitlines() == [
        "Priority: Critical", f"Output: {line}", "Rule: Read sensitive file", "Source: syscall",
        "Hostname: build-07", "Tags: filesystem, mitre_credential_access", "Time: 2026-01-31T09:41:22.118204311Z",
        "proc.name: cat", "user.name: root"]
    html = message.get_body(("html",)).get_content()
    assert "#ff9000" in html and "<td style=\"padding:2px 8px\">root</td>" in html


@pytest.mark.parametrize("smtp", ["ssl"], indirect=True)
def test_implicit_tls_text_digest(smtp):
    """tls: ssl with a digest of 3: two mails for five alerts, plain text only, subject with most severe."""
    mailbox, port, ca, mode = smtp
    sink = _sink(port, ca, mode, digest=3, format="text")
    priorities = [Priority.NOTICE, Priority.ERROR, Priority.WARNING, Priority.DEBUG, Priority.DEBUG]
    alerts = [make_alert(i, priority=p) for i, p in enumerate(priorities)]
    sink.deliver(alerts)
    subjects = [m["Subject"] for _, _, m in mailbox.messages]
    assert subjects == [f"[Error] 3 alerts: {alerts[0].to_text(make_config())}",
                        f"[Debug] 2 alerts: {alerts[3].to_text(make_config())}"]
    assert all(m.get_content_type() == "text/plain" for _, _, m in mailbox.messages)
    assert mailbox.messages[0][2].get_content().count("Priority: ") == 3
    assert sink.batching()[0] == 3


def test_wrong_password_fails_without_showing_it(smtp):
    """An AUTH refusal is a SinkError that never contains the password."""
    mailbox, port, ca, mode = smtp
    sink = _sink(port, ca, mode, password="wrong-" + PASSWORD)
    with pytest.raises(SinkError) as caught:
        sink.deliver([make_alert(0)])
    assert "535" in str(caught.value) and PASSWORD not in str(caught.value)
    assert mailbox.messages == []
