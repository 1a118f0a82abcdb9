from stockade.core import pki


def test_issued_certificate_chains_to_ca_and_not_to_another() -> None:
    ca = pki.create_ca()
    other = pki.create_ca("other")
    leaf = pki.issue(ca, "central.stockade", dns_names=["localhost"], ip_addresses=["127.0.0.1"])
    assert pki.verify_issued_by(leaf.cert_pem, ca.cert_pem)
    assert not pki.verify_issued_by(leaf.cert_pem, other.cert_pem)
