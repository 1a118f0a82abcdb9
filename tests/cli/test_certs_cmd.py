"""``stockade scanner certs``: the certificates for Central and Scanner services run apart."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from stockade.cli.main import main
from stockade.core import pki


def run(*args: str) -> int:
    """The command's exit code (main exits only on failure)."""
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _ou(path: Path) -> list[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return [
        str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    ]


def test_issues_from_a_new_ca_and_never_overwrites(tmp_path: Path, capsys) -> None:
    out = tmp_path / "certs"
    assert run("scanner", "certs", "--out", str(out), "--dns-name", "scanner.stockade.svc") == 0
    ca = (out / "ca.pem").read_bytes()
    assert _ou(out / "scanner.pem") == ["SCANNER"] and _ou(out / "central.pem") == ["CENTRAL"]
    assert pki.verify_issued_by((out / "scanner.pem").read_bytes(), ca)
    assert pki.verify_issued_by((out / "central.pem").read_bytes(), ca)
    scanner = x509.load_pem_x509_certificate((out / "scanner.pem").read_bytes())
    names = scanner.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "scanner.stockade.svc" in names.get_values_for_type(x509.DNSName)
    central = x509.load_pem_x509_certificate((out / "central.pem").read_bytes())
    usages = central.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    for key in ("ca-key.pem", "scanner-key.pem", "central-key.pem"):
        assert stat.S_IMODE((out / key).stat().st_mode) == 0o600

    capsys.readouterr()
    assert run("scanner", "certs", "--out", str(out)) != 0
    assert "already exist" in capsys.readouterr().err
    assert (out / "ca.pem").read_bytes() == ca


def test_a_clash_writes_nothing(tmp_path: Path, capsys) -> None:
    """Only the last file (the new CA's key) is taken: nothing is written, so no certificate
    is left signed by a CA key that was thrown away."""
    out = tmp_path / "certs"
    out.mkdir()
    (out / "ca-key.pem").write_text("someone else's key")
    assert run("scanner", "certs", "--out", str(out)) != 0
    assert "ca-key.pem" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["ca-key.pem"]


def test_issues_from_a_given_ca(tmp_path: Path, capsys) -> None:
    ca = pki.create_ca("Operator CA")
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem)
    (tmp_path / "ca-key.pem").write_bytes(ca.key_pem)
    out = tmp_path / "out"
    ca_files = ("--ca-cert", str(tmp_path / "ca.pem"), "--ca-key", str(tmp_path / "ca-key.pem"))
    assert run("scanner", "certs", "--out", str(out), *ca_files) == 0
    assert not (out / "ca-key.pem").exists()  # the operator's CA key is not copied
    assert pki.verify_issued_by((out / "central.pem").read_bytes(), ca.cert_pem)

    capsys.readouterr()
    half = ("--ca-cert", str(tmp_path / "ca.pem"))
    assert run("scanner", "certs", "--out", str(tmp_path / "x"), *half) != 0
    assert "--ca-cert and --ca-key go together" in capsys.readouterr().err
