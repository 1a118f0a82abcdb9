"""Email over SMTP (aiosmtplib): implicit TLS by default, STARTTLS with PLAIN or LOGIN
authentication when ``startTLSAuthMethod`` says so, plain SMTP only when ``disableTLS``.
The recipient is ``labelDefault`` (or the annotation named by ``labelKey``). A message
counts as delivered when the server accepts its data (250).

Message-ID is derived from the idempotency key, so a mailbox or filter can drop a repeat.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Any

import aiosmtplib

from stockade.central.notifiers import render
from stockade.central.notifiers.base import (
    Common,
    DeliveryFailed,
    DeliveryOptions,
    InvalidNotifier,
    Notification,
)
from stockade.central.notifiers.fields import (
    Fields,
    email_address,
    host_port,
    pem_certificates,
)
from stockade.central.notifiers.webhttp import ssl_context

AUTH_METHODS = ("DISABLED", "PLAIN", "LOGIN")


@dataclass(frozen=True)
class EmailConfig:
    common: Common
    host: str
    port: int
    sender: str
    from_name: str
    username: str
    password: str
    disable_tls: bool
    starttls_auth: str  # DISABLED: implicit TLS (or none with disable_tls); PLAIN/LOGIN
    allow_unauthenticated: bool
    ca_cert: str

    @property
    def starttls(self) -> bool:
        return not self.disable_tls and self.starttls_auth != "DISABLED"


def build_message(config: EmailConfig, note: Notification, recipient: str) -> EmailMessage:
    alert = note.alert
    msg = EmailMessage()
    msg["From"] = formataddr((config.from_name, config.sender))
    msg["To"] = recipient
    prefix = "[Stockade test] " if note.is_test else ""
    msg["Subject"] = prefix + render.subject(alert)
    msg["Date"] = formatdate(render.epoch_seconds(alert), usegmt=True)
    domain = config.sender.rpartition("@")[2] or "stockade"
    msg["Message-ID"] = f"<{note.idempotency_key}@{domain}>"
    msg["X-Stockade-Alert-Id"] = alert.get("id", "")
    msg.set_content("\n".join(render.body_lines(config.common, alert)) + "\n")
    return msg


class EmailNotifier:
    name = "email"
    section = "email"
    secret_fields: tuple[str, ...] = ("password",)
    dependent_fields: tuple[str, ...] = ("server", "username")

    def parse(self, common: Common, section: Mapping[str, Any]) -> EmailConfig:
        f = Fields(section, "email")
        disable_tls = f.boolean("disableTLS")
        method = f.choice("startTLSAuthMethod", AUTH_METHODS, "DISABLED")
        if f.boolean("DEPRECATEDUseStartTLS") and method == "DISABLED":
            method = "PLAIN"
        default_port = 25 if disable_tls else (587 if method != "DISABLED" else 465)
        host, port = host_port(f.string("server", required=True), f.path("server"), default_port)
        sender = email_address(f.string("sender", required=True), f.path("sender"))
        allow_unauth = f.boolean("allowUnauthenticatedSmtp")
        username, password = f.string("username"), f.string("password")
        if not allow_unauth:
            if not username:
                raise InvalidNotifier(
                    f.path("username"), "is required unless allowUnauthenticatedSmtp"
                )
            if not password:
                raise InvalidNotifier(
                    f.path("password"), "is required unless allowUnauthenticatedSmtp"
                )
        if not common.label_default:
            raise InvalidNotifier("labelDefault", "is required: the recipient's address")
        email_address(common.label_default, "labelDefault")
        ca = f.string("caCert")  # Stockade's addition: a private CA for the mail server
        if ca:
            pem_certificates(ca, f.path("caCert"))
        return EmailConfig(
            common,
            host,
            port,
            sender,
            f.string("from"),
            username if not allow_unauth else "",
            password if not allow_unauth else "",
            disable_tls,
            method,
            allow_unauth,
            ca,
        )

    async def send(self, config: EmailConfig, note: Notification, options: DeliveryOptions) -> None:
        target = render.routed_target(config.common, note.alert)
        try:
            recipient = email_address(target, "recipient")
        except InvalidNotifier as exc:
            raise DeliveryFailed(
                f"the recipient from annotation {config.common.label_key!r} is not an address",
                retryable=False,
            ) from exc
        await deliver(config, build_message(config, note, recipient), [recipient], options)


def build_report_message(
    config: EmailConfig,
    recipients: list[str],
    subject: str,
    body: str,
    attachment: tuple[str, bytes],
    message_key: str,
) -> EmailMessage:
    """A report mail: the text, and the report as a zip attachment."""
    msg = EmailMessage()
    msg["From"] = formataddr((config.from_name, config.sender))
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = f"<{message_key}@{config.sender.rpartition('@')[2] or 'stockade'}>"
    msg.set_content(body if body.endswith("\n") else body + "\n")
    name, data = attachment
    msg.add_attachment(data, maintype="application", subtype="zip", filename=name)
    return msg


async def deliver(
    config: EmailConfig, message: EmailMessage, recipients: list[str], options: DeliveryOptions
) -> None:
    """One SMTP session sending ``message``; DeliveryFailed unless the server accepted it."""
    where = f"{config.host}:{config.port}"
    tls: ssl.SSLContext | None = None
    if not config.disable_tls:
        tls = ssl_context(config.ca_cert, False)
    smtp = aiosmtplib.SMTP(
        hostname=config.host,
        port=config.port,
        use_tls=not config.disable_tls and not config.starttls,
        start_tls=False,
        tls_context=tls,
        timeout=options.timeout,
    )
    try:
        await smtp.connect()
        if config.starttls:
            await smtp.starttls(tls_context=tls)
            await smtp.ehlo()  # the session starts over after STARTTLS
        if config.username:
            if config.starttls_auth == "LOGIN":
                await smtp.auth_login(config.username, config.password)
            else:
                await smtp.auth_plain(config.username, config.password)
        await smtp.send_message(message, sender=config.sender, recipients=recipients)
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise DeliveryFailed(f"{where} refused the credentials", retryable=False) from exc
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        raise DeliveryFailed(
            f"{where} refused the recipient ({', '.join(map(str, codes))})",
            retryable=all(400 <= c < 500 for c in codes),
        ) from exc
    except aiosmtplib.SMTPTimeoutError as exc:
        raise DeliveryFailed(f"{where} did not answer within {options.timeout:g} s") from exc
    except aiosmtplib.SMTPResponseException as exc:
        raise DeliveryFailed(
            f"{where} answered SMTP {exc.code}", retryable=not 500 <= exc.code < 600
        ) from exc
    except aiosmtplib.SMTPConnectError as exc:
        raise DeliveryFailed(f"cannot connect to {where}") from exc
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"SMTP with {where} failed: {_reason(exc)}") from exc
    finally:
        if smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                smtp.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate not trusted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return "TLS handshake failed"
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return "the server does not offer STARTTLS or the authentication method"
    return type(exc).__name__
