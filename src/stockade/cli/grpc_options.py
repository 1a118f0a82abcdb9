"""Command-line options every Scanner gRPC service takes: where to listen and its mutual TLS
(``--tls-cert``, ``--tls-key``, ``--tls-ca``, ``--client-ou``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from stockade.core.errors import ConfigError

F = TypeVar("F", bound=Callable[..., object])


def service_options(default_listen: str) -> Callable[[F], F]:
    """Adds ``listen``, ``tls_cert``, ``tls_key``, ``tls_ca`` and ``client_ous`` parameters."""
    path = click.Path(exists=True, dir_okay=False)
    options = [
        click.option(
            "--listen", default=default_listen, show_default=True, help="host:port to serve on."
        ),
        click.option("--tls-cert", type=path, default=None, help="This service's certificate."),
        click.option("--tls-key", type=path, default=None, help="Its private key."),
        click.option(
            "--tls-ca",
            "--client-ca",
            "tls_ca",
            type=path,
            default=None,
            help="CA (Central's) that client certificates must chain to.",
        ),
        click.option(
            "--client-ou",
            "client_ous",
            multiple=True,
            default=("CENTRAL",),
            show_default=True,
            help="Organizational unit a client certificate must carry (repeatable).",
        ),
    ]

    def apply(f: F) -> F:
        for option in reversed(options):
            f = option(f)
        return f

    return apply


def tls_paths(cert: str | None, key: str | None, ca: str | None) -> tuple[str, str, str] | None:
    """The three TLS files, or None for plain text (loopback only); some but not all is a
    usage error."""
    if cert and key and ca:
        return cert, key, ca
    if cert or key or ca:
        raise ConfigError("--tls-cert, --tls-key and --tls-ca go together.")
    return None
