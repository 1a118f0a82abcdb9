"""Talking to Central from the CLI: endpoint, API token, TLS trust, and one error per
failure the user can act on (exit code 3: could not reach or could not evaluate)."""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import httpx

from stockade.core.errors import ConfigError, StockadeError
from stockade.core.redact import redact

DEFAULT_TIMEOUT = 600.0  # a scan of a large image takes minutes


class CentralUnavailable(StockadeError):
    exit_code = 3


class CentralRefused(StockadeError):
    """Central answered with an error (bad input, no permission, failed scan)."""

    exit_code = 3


@dataclass(frozen=True)
class CentralClient:
    base_url: str
    token: str
    verify: ssl.SSLContext | bool
    timeout: float = DEFAULT_TIMEOUT

    def call(self, method: str, path: str, json: Any = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            with httpx.Client(verify=self.verify, timeout=self.timeout) as client:
                resp = client.request(method, self.base_url + path, json=json, headers=headers)
        except httpx.TransportError as exc:
            raise CentralUnavailable(
                f"cannot reach Central at {self.base_url}: {redact(str(exc)) or type(exc).__name__}"
            ) from exc
        if resp.status_code >= 400:
            try:
                message = resp.json().get("message") or resp.text
            except ValueError:
                message = resp.text[:300]
            raise CentralRefused(f"Central refused {method} {path} ({resp.status_code}): {message}")
        return resp

    def json(self, method: str, path: str, body: Any = None) -> Any:
        return self.call(method, path, body).json()


def client_options(f: Any) -> Any:
    """-e/--endpoint, --token-file, --ca, --insecure-skip-tls-verify, --plaintext."""
    options = [
        click.option(
            "-e",
            "--endpoint",
            envvar="STOCKADE_ENDPOINT",
            help="Central endpoint, host:port (env STOCKADE_ENDPOINT)",
        ),
        click.option(
            "--token-file",
            envvar="STOCKADE_TOKEN_FILE",
            type=click.Path(dir_okay=False),
            help="file holding an API token (or env STOCKADE_API_TOKEN)",
        ),
        click.option(
            "--ca",
            envvar="STOCKADE_CA",
            type=click.Path(dir_okay=False),
            help="PEM file of Central's CA (env STOCKADE_CA)",
        ),
        click.option(
            "--insecure-skip-tls-verify", is_flag=True, help="do not verify Central's certificate"
        ),
        click.option("--plaintext", is_flag=True, help="talk plain HTTP (tests, local only)"),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def make_client(
    endpoint: str | None,
    token_file: str | None,
    ca: str | None,
    insecure_skip_tls_verify: bool,
    plaintext: bool,
) -> CentralClient:
    if not endpoint:
        raise ConfigError("give Central's endpoint with -e host:port or STOCKADE_ENDPOINT")
    if token_file:
        try:
            token = Path(token_file).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read token file {token_file}: {exc.strerror}") from exc
    else:
        token = os.environ.get("STOCKADE_API_TOKEN", "").strip()
    if not token:
        raise ConfigError("give an API token with --token-file or STOCKADE_API_TOKEN")
    scheme = "http" if plaintext else "https"
    base = endpoint if "://" in endpoint else f"{scheme}://{endpoint}"
    verify: ssl.SSLContext | bool = True
    if insecure_skip_tls_verify:
        verify = False
    elif ca:
        try:
            verify = ssl.create_default_context(cafile=ca)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot load CA file {ca}: {exc}") from exc
    return CentralClient(base.rstrip("/"), token, verify)
