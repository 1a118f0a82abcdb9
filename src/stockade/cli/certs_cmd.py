"""``stockade scanner certs``: the certificates Central and the Scanner services need when
the Indexer and Matcher run apart.

From a CA given as two PEM files (Central's own, e.g. the ``ca.pem``/``ca-key.pem`` of its
secrets directory, or any CA the operator keeps for this) or a new one made here, it writes:

- ``scanner.pem`` / ``scanner-key.pem``: the Indexer's and Matcher's serving certificate (OU
  SCANNER; also a client certificate, so a Matcher can fetch reports from the Indexer when
  the Indexer accepts ``--client-ou SCANNER``);
- ``central.pem`` / ``central-key.pem``: Central's client certificate (OU CENTRAL, the unit
  the services accept by default);
- ``ca.pem``: the CA certificate both sides check the other against (and ``ca-key.pem`` only
  when the CA was made here).

Keys are written 0600. Existing files are never overwritten.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from stockade.core import pki
from stockade.core.errors import ConfigError, PKIError


def _write(path: Path, data: bytes, *, private: bool) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
    except FileExistsError as exc:
        raise ConfigError(f"{path} already exists; choose another --out directory.") from exc
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _load_ca(cert: Path, key: Path) -> pki.KeyPair:
    try:
        pair = pki.load_keypair(cert.read_bytes(), key.read_bytes())
    except OSError as exc:
        raise ConfigError(f"Cannot read the CA file {exc.filename}.") from exc
    except PKIError as exc:
        raise ConfigError(f"The CA files are not usable: {exc.message}.") from exc
    return pair


@click.command("certs")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory to write the certificates to (created if missing).",
)
@click.option("--ca-cert", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option(
    "--ca-key",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --ca-cert: the CA to issue from. Without both, a new CA is made.",
)
@click.option(
    "--dns-name",
    "dns_names",
    multiple=True,
    default=("localhost",),
    show_default=True,
    help="Name Central reaches the Indexer and Matcher by (repeatable).",
)
@click.option(
    "--ip",
    "ips",
    multiple=True,
    default=("127.0.0.1",),
    show_default=True,
    help="Address Central reaches them at (repeatable).",
)
def certs(
    out: Path,
    ca_cert: Path | None,
    ca_key: Path | None,
    dns_names: tuple[str, ...],
    ips: tuple[str, ...],
) -> None:
    """Issue the Scanner services' certificate and Central's client certificate."""
    if ca_cert is not None and ca_key is not None:
        ca, made_ca = _load_ca(ca_cert, ca_key), False
    elif ca_cert is None and ca_key is None:
        ca, made_ca = pki.create_ca("Stockade Scanner CA"), True
    else:
        raise ConfigError("--ca-cert and --ca-key go together.")
    try:
        scanner = pki.issue(
            ca,
            dns_names[0] if dns_names else "scanner",
            dns_names=list(dns_names),
            ip_addresses=list(ips),
            organizational_unit="SCANNER",
        )
    except ValueError as exc:
        raise ConfigError(f"--ip: {exc}") from exc
    central = pki.issue(ca, "central", organizational_unit="CENTRAL", server=False)
    out.mkdir(parents=True, exist_ok=True)
    files: list[tuple[str, bytes, bool]] = [
        ("ca.pem", ca.cert_pem, False),
        ("scanner.pem", scanner.cert_pem + ca.cert_pem, False),
        ("scanner-key.pem", scanner.key_pem, True),
        ("central.pem", central.cert_pem, False),
        ("central-key.pem", central.key_pem, True),
    ]
    if made_ca:
        files.append(("ca-key.pem", ca.key_pem, True))
    # all or nothing: a clash found half way would leave certificates whose new CA key is lost
    taken = [name for name, _, _ in files if (out / name).exists()]
    if taken:
        raise ConfigError(
            f"{', '.join(taken)} already exist(s) in {out}; choose another --out directory."
        )
    for name, data, private in files:
        _write(out / name, data, private=private)
    click.echo(f"wrote {', '.join(n for n, _, _ in files)} to {out}")
