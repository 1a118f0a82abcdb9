"""Cloud registry auth on real parts where they run here: a fake ECR API on loopback that
checks each request's SigV4 signature (region, service, secret) and hands out a token, which
is the real local registry's basic credentials; the scan then goes through the real registry.
Also the service-account key checks of GCR / Artifact Registry integrations."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import importlib.util
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from stockade.central.registry_auth import EcrAuth, EcrTokens, RegistryAuthError

pytestmark = [pytest.mark.integration]

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("central_scan_e2e", HERE / "test_scan_e2e.py")
assert _spec and _spec.loader
_e2e = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("central_scan_e2e", _e2e)
_spec.loader.exec_module(_e2e)
test_image = _e2e.test_image
auth_registry = _e2e.auth_registry

ACCESS_KEY = "AKIDSTOCKADETEST0001"
SECRET = "s3cr3t/Stockade+Test+Key+0000000000000000"
WRONG = "wr0ng/Stockade+Test+Key+1111111111111111"
REGION = "us-west-2"
TARGET = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<signed>[^,]+), Signature=(?P<sig>[0-9a-f]+)$"
)


@dataclass
class FakeEcr:
    """GetAuthorizationToken answered for a request signed with SECRET for ecr in REGION."""

    url: str = ""
    calls: int = 0
    problems: list[str] = field(default_factory=list)
    token: str = "alice:wonderland"  # the local registry's basic credentials
    lifetime: float = 12 * 3600
    # a request for this registry id waits for ``release`` (a blackholed region)
    stall_registry: str = ""
    stalled: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


def _signature_ok(headers: dict[str, str], body: bytes, url: str, m: re.Match[str]) -> bool:
    """Recompute the signature with SECRET over what the client said it signed."""
    signed = m["signed"].split(";")
    request = AWSRequest(
        method="POST", url=url, data=body, headers={h: headers.get(h, "") for h in signed}
    )
    request.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET), "ecr", REGION)
    canonical = signer.canonical_request(request)
    return signer.signature(signer.string_to_sign(request, canonical), request) == m["sig"]


@pytest.fixture
def fake_ecr() -> Iterator[FakeEcr]:
    state = FakeEcr()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, status: int, doc: dict[str, object]) -> None:
            body = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            state.calls += 1
            if state.stall_registry and state.stall_registry in json.loads(body or b"{}").get(
                "registryIds", []
            ):
                state.stalled.set()
                state.release.wait(timeout=60)
            m = _AUTH.match(headers.get("authorization", ""))
            if m is None:
                state.problems.append("not SigV4-signed")
                return self._answer(400, {"__type": "MissingAuthenticationTokenException"})
            if (m["region"], m["service"]) != (REGION, "ecr"):
                state.problems.append(f"signed for {m['region']}/{m['service']}")
            if headers.get("x-amz-target") != TARGET:
                state.problems.append(f"target {headers.get('x-amz-target')}")
            if m["key"] != ACCESS_KEY or not _signature_ok(headers, body, state.url, m):
                return self._answer(
                    400,
                    {
                        "__type": "UnrecognizedClientException",
                        "message": "The security token included in the request is invalid.",
                    },
                )
            expires = time.time() + state.lifetime
            token = base64.b64encode(state.token.encode()).decode()
            self._answer(
                200,
                {
                    "authorizationData": [
                        {
                            "authorizationToken": token,
                            "expiresAt": expires,
                            "proxyEndpoint": "https://registry.invalid",
                        }
                    ]
                },
            )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def _ecr(address: str, secret: str) -> dict[str, object]:
    return {
        "name": "ecr",
        "type": "ecr",
        "ecr": {
            "endpoint": address,
            "region": REGION,
            "accessKeyId": ACCESS_KEY,
            "secretAccessKey": secret,
            "insecure": True,
        },
    }


async def test_ecr_token_exchange_reuse_and_refresh(
    start_central, database_url, fake_ecr: FakeEcr, auth_registry
) -> None:
    c = await start_central(database_url, ecr_endpoint_url=fake_ecr.url)
    doc = _ecr(auth_registry.address, SECRET)
    r = await c.admin("POST", "/v1/imageintegrations/test", json=doc)
    assert r.status_code == 200, r.text
    assert fake_ecr.calls == 1 and fake_ecr.problems == []
    r = await c.admin("POST", "/v1/imageintegrations", json=doc)
    assert r.status_code == 200, r.text
    shown = r.json()["ecr"]
    assert shown["secretAccessKey"] == "******" and shown["accessKeyId"] == ACCESS_KEY
    assert shown["region"] == REGION
    assert SECRET not in (await c.admin("GET", "/v1/imageintegrations")).text
    with psycopg.connect(c.db_url) as conn:
        sealed = conn.execute("SELECT password FROM image_integrations").fetchone()[0]
    assert SECRET.encode() not in bytes(sealed)

    image = f"{auth_registry.address}/private/test:latest"
    for _ in range(2):  # the token from the test call is reused while valid
        r = await c.admin("POST", "/v1/images/scan", json={"imageName": image, "force": True})
        assert r.status_code == 200, r.text
        assert r.json()["scanState"] == "SCANNED"
    assert fake_ecr.calls == 1

    # later than the token's expiry (less the margin): a new token is fetched and used
    ecr = c.central.integrations.ecr
    ecr.clock = lambda: time.time() + fake_ecr.lifetime
    r = await c.admin("POST", "/v1/images/scan", json={"imageName": image, "force": True})
    assert r.status_code == 200, r.text
    assert fake_ecr.calls == 2 and fake_ecr.problems == []


async def test_ecr_wrong_secret_is_a_clear_error_without_the_secret(
    start_central, database_url, fake_ecr: FakeEcr, auth_registry, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    c = await start_central(database_url, ecr_endpoint_url=fake_ecr.url)
    doc = _ecr(auth_registry.address, WRONG)
    r = await c.admin("POST", "/v1/imageintegrations/test", json=doc)
    assert r.status_code == 400
    message = r.json()["message"]
    assert "registry test failed" in message and "UnrecognizedClientException" in message
    assert REGION in message and WRONG not in message

    assert (await c.admin("POST", "/v1/imageintegrations", json=doc)).status_code == 200
    image = f"{auth_registry.address}/private/test:latest"
    r = await c.admin("POST", "/v1/images/scan", json={"imageName": image})
    assert r.status_code == 502
    assert "UnrecognizedClientException" in r.json()["message"]
    with psycopg.connect(c.db_url) as conn:
        state, error = conn.execute("SELECT scan_state, scan_error FROM images").fetchone()
        assert conn.execute("SELECT count(*) FROM image_components").fetchone()[0] == 0
    assert state == "FAILED" and "UnrecognizedClientException" in error
    assert WRONG not in error and WRONG not in caplog.text
    assert fake_ecr.problems == []


async def test_ecr_settings_are_checked(central) -> None:
    bad = [
        (
            {"endpoint": "registry.example.com", "accessKeyId": "A", "secretAccessKey": "B"},
            "region",
        ),
        ({"region": "Mars", "endpoint": "r.example.com", "accessKeyId": "A"}, "region"),
        ({"region": REGION, "endpoint": "r.example.com", "secretAccessKey": "B"}, "accessKeyId"),
        ({"region": REGION, "endpoint": "r.example.com", "accessKeyId": "A"}, "secretAccessKey"),
    ]
    for cfg, named in bad:
        r = await central.admin(
            "POST", "/v1/imageintegrations", json={"name": "e", "type": "ecr", "ecr": cfg}
        )
        assert r.status_code == 400 and named in r.json()["message"], (cfg, r.text)
    # region and account from an ECR host name; the instance's role needs no keys
    host = "123456789012.dkr.ecr.eu-central-1.amazonaws.com"
    r = await central.admin(
        "POST",
        "/v1/imageintegrations",
        json={"name": "role", "type": "ecr", "ecr": {"endpoint": host, "useIam": True}},
    )
    assert r.status_code == 200, r.text
    shown = r.json()["ecr"]
    assert (shown["region"], shown["registryId"], shown["useIam"]) == (
        "eu-central-1",
        "123456789012",
        True,
    )


SERVICE_ACCOUNT_KEY = {
    "type": "service_account",
    "project_id": "stockade-test",
    "private_key_id": "0123456789abcdef",
    "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n",
    "client_email": "scanner@stockade-test.iam.gserviceaccount.com",
}


async def test_gcr_service_account_key_is_checked_and_never_returned(central) -> None:
    def doc(key: object) -> dict[str, object]:
        return {"name": "gcr", "type": "gcr", "gcr": {"endpoint": "gcr.io", "serviceAccount": key}}

    broken = [
        ("{not json", "not valid JSON"),
        (json.dumps([1]), "JSON object"),
        (json.dumps({**SERVICE_ACCOUNT_KEY, "type": "user"}), "service_account"),
        (
            json.dumps({k: v for k, v in SERVICE_ACCOUNT_KEY.items() if k != "client_email"}),
            "client_email",
        ),
        (json.dumps({**SERVICE_ACCOUNT_KEY, "private_key": ""}), "private_key"),
    ]
    for key, named in broken:
        r = await central.admin("POST", "/v1/imageintegrations", json=doc(key))
        assert r.status_code == 400 and named in r.json()["message"], r.text
        assert "MIIEvQ" not in r.text
    r = await central.admin(
        "POST", "/v1/imageintegrations", json=doc(json.dumps(SERVICE_ACCOUNT_KEY))
    )
    assert r.status_code == 200, r.text
    assert r.json()["gcr"]["serviceAccount"] == "******"
    assert r.json()["gcr"]["username"] == "_json_key"
    assert "MIIEvQ" not in (await central.admin("GET", "/v1/imageintegrations")).text
    options = await central.central.integrations.options_for("gcr.io")
    user, password = options.credentials["gcr.io"]
    assert user == "_json_key" and json.loads(password) == SERVICE_ACCOUNT_KEY


def test_tokens_expire_by_the_answer_not_a_guess() -> None:
    """expiresAt is honoured as given (a naive time is UTC)."""
    from stockade.central.registry_auth import _decode

    when = dt.datetime(2030, 1, 1, 12, 0)
    token = _decode(
        {
            "authorizationData": [
                {"authorizationToken": base64.b64encode(b"AWS:pw").decode(), "expiresAt": when}
            ]
        },
        "test",
    )
    assert (token.username, token.password) == ("AWS", "pw")
    assert token.expires_at == when.replace(tzinfo=dt.UTC).timestamp()


async def test_ecr_with_the_default_credential_chain(
    start_central, database_url, fake_ecr: FakeEcr, auth_registry, monkeypatch, tmp_path
) -> None:
    """useIam: no keys stored; botocore's chain finds them (here in the environment, as a
    pod's web-identity or instance role would be found)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    c = await start_central(database_url, ecr_endpoint_url=fake_ecr.url)
    doc = {
        "name": "role",
        "type": "ecr",
        "ecr": {
            "endpoint": auth_registry.address,
            "region": REGION,
            "useIam": True,
            "insecure": True,
        },
    }
    r = await c.admin("POST", "/v1/imageintegrations", json=doc)
    assert r.status_code == 200, r.text
    assert r.json()["ecr"]["secretAccessKey"] == "" and r.json()["ecr"]["accessKeyId"] == ""
    image = f"{auth_registry.address}/private/test:latest"
    r = await c.admin("POST", "/v1/images/scan", json={"imageName": image})
    assert r.status_code == 200, r.text
    assert fake_ecr.calls == 1 and fake_ecr.problems == []

    r = await c.admin("POST", "/v1/imageintegrations/test", json=doc)
    # the token from the scan is still valid: the test call reuses it without asking AWS
    assert r.status_code == 200 and fake_ecr.calls == 1

    # nowhere to find credentials: one sentence saying so
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    fresh = EcrTokens(fake_ecr.url)
    with pytest.raises(RegistryAuthError, match="no AWS credentials found"):
        await asyncio.to_thread(fresh.credentials, EcrAuth(region=REGION, use_iam=True))


async def test_ecr_stored_key_is_not_used_for_another_registry(
    start_central, database_url, fake_ecr: FakeEcr, auth_registry
) -> None:
    """A masked secret with another endpoint, region or registry id: refused before any token
    is asked for (a token would go to the named endpoint); the same registry still works."""
    c = await start_central(database_url, ecr_endpoint_url=fake_ecr.url)
    r = await c.admin("POST", "/v1/imageintegrations", json=_ecr(auth_registry.address, SECRET))
    assert r.status_code == 200, r.text
    iid = r.json()["id"]
    for change, named in (
        ({"endpoint": "127.0.0.1:9"}, "endpoint"),
        ({"region": "eu-west-1"}, "region"),
        ({"registryId": "123456789012"}, "registryId"),
    ):
        doc = _ecr(auth_registry.address, "******")
        doc["ecr"] = {**doc["ecr"], **change}  # type: ignore[dict-item]
        r = await c.admin("POST", "/v1/imageintegrations/test", json={**doc, "id": iid})
        message = r.json()["message"]
        assert r.status_code == 400 and "ecr.secretAccessKey" in message, r.text
        assert f"the {named} changed" in message
        r = await c.admin("PUT", f"/v1/imageintegrations/{iid}", json=doc)
        assert r.status_code == 400 and "ecr.secretAccessKey" in r.json()["message"]
    assert fake_ecr.calls == 0
    shown = (await c.admin("GET", f"/v1/imageintegrations/{iid}")).json()["ecr"]
    assert (shown["endpoint"], shown["region"]) == (auth_registry.address, REGION)

    doc = _ecr(auth_registry.address, "******")
    r = await c.admin("POST", "/v1/imageintegrations/test", json={**doc, "id": iid})
    assert r.status_code == 200, r.text
    assert fake_ecr.calls == 1 and fake_ecr.problems == []


def test_a_stalled_ecr_exchange_holds_up_only_its_own_integration(fake_ecr: FakeEcr) -> None:
    """One integration's GetAuthorizationToken hangs; another's completes meanwhile, and a
    second caller of the hanging one waits for that exchange instead of starting its own."""
    fake_ecr.stall_registry = "111111111111"
    tokens = EcrTokens(fake_ecr.url)
    stalled = EcrAuth(REGION, ACCESS_KEY, SECRET, registry_id="111111111111")
    other = dataclasses.replace(stalled, registry_id="222222222222")
    with ThreadPoolExecutor(3) as pool:
        try:
            first = pool.submit(tokens.credentials, stalled)
            assert fake_ecr.stalled.wait(timeout=30)
            same = pool.submit(tokens.credentials, stalled)
            assert pool.submit(tokens.credentials, other).result(timeout=15) == (
                "alice",
                "wonderland",
            )
            assert not first.done() and not same.done()
        finally:
            fake_ecr.release.set()
        assert first.result(timeout=30) == same.result(timeout=30) == ("alice", "wonderland")
    assert fake_ecr.calls == 2 and fake_ecr.problems == []


def test_failed_exchanges_leave_no_per_key_state(fake_ecr: FakeEcr) -> None:
    tokens = EcrTokens(fake_ecr.url)
    for n in range(3):
        with pytest.raises(RegistryAuthError, match="UnrecognizedClientException"):
            tokens.credentials(EcrAuth(REGION, ACCESS_KEY, f"{WRONG}{n}"))
    assert tokens._key_locks == {}
    assert tokens.credentials(EcrAuth(REGION, ACCESS_KEY, SECRET)) == ("alice", "wonderland")
    assert len(tokens._key_locks) == 1
