"""A stored registry secret goes only to the registry it was stored for: an update or a test
call that names another type or endpoint with the secret left blank (or masked) is refused,
naming the field, before anything is sent. Loopback servers that answer every request with a
Basic challenge record the Authorization headers they get, so "nothing sent" is observed, not
assumed."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytestmark = [pytest.mark.integration]

SECRET = "st0red-Registry-Secret"
SERVICE_ACCOUNT_KEY = json.dumps(
    {
        "type": "service_account",
        "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----\n",
        "client_email": "scanner@stockade-test.iam.gserviceaccount.com",
    }
)


class Recorder:
    """A registry that challenges for Basic auth and remembers every Authorization header."""

    def __init__(self) -> None:
        self.authorizations: list[str] = []
        self.requests = 0
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                recorder.requests += 1
                if "Authorization" in self.headers:
                    recorder.authorizations.append(self.headers["Authorization"])
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="recorder"')
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_HEAD = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def secrets_seen(self) -> list[str]:
        """The passwords of the Basic credentials received."""
        seen = []
        for header in self.authorizations:
            scheme, _, value = header.partition(" ")
            if scheme == "Basic":
                seen.append(base64.b64decode(value).decode().partition(":")[2])
        return seen

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def recorders() -> Iterator[Callable[[], Recorder]]:
    started: list[Recorder] = []

    def make() -> Recorder:
        started.append(Recorder())
        return started[-1]

    yield make
    for r in started:
        r.close()


def _docker(endpoint: str, password: str, **extra: object) -> dict[str, object]:
    cfg = {"endpoint": endpoint, "username": "ci", "password": password, "insecure": True}
    return {"name": "prod", "type": "docker", "docker": cfg, **extra}


async def test_changed_endpoint_needs_the_password_again(central, recorders) -> None:
    prod, elsewhere = recorders(), recorders()
    r = await central.admin("POST", "/v1/imageintegrations", json=_docker(prod.address, SECRET))
    assert r.status_code == 200, r.text
    iid = r.json()["id"]

    # test call: the stored secret is not sent to another host, masked or blank
    for masked in ("******", ""):
        doc = _docker(elsewhere.address, masked, id=iid)
        r = await central.admin("POST", "/v1/imageintegrations/test", json=doc)
        assert r.status_code == 400, r.text
        message = r.json()["message"]
        assert "docker.password" in message and "endpoint changed" in message, message
        assert SECRET not in r.text
    assert elsewhere.requests == 0 and elsewhere.secrets_seen() == []

    # nor to another type on the same host
    doc = {"name": "prod", "type": "quay", "id": iid, "quay": {"endpoint": prod.address}}
    r = await central.admin("POST", "/v1/imageintegrations/test", json=doc)
    assert r.status_code == 400 and "the type changed" in r.json()["message"], r.text
    assert prod.requests == 0

    # the same registry (spelled with a scheme and a slash) still uses the stored secret
    doc = _docker(f"http://{prod.address}/", "", id=iid)
    r = await central.admin("POST", "/v1/imageintegrations/test", json=doc)
    assert r.status_code == 400 and "registry test failed" in r.json()["message"]
    assert prod.secrets_seen() == [SECRET]

    # a secret given with the new endpoint is the one sent
    doc = _docker(elsewhere.address, "typed-again", id=iid)
    await central.admin("POST", "/v1/imageintegrations/test", json=doc)
    assert elsewhere.secrets_seen() == ["typed-again"]

    # update: refused and nothing changed; the same endpoint keeps the secret
    r = await central.admin(
        "PUT", f"/v1/imageintegrations/{iid}", json=_docker(elsewhere.address, "******")
    )
    assert r.status_code == 400 and "docker.password" in r.json()["message"], r.text
    shown = (await central.admin("GET", f"/v1/imageintegrations/{iid}")).json()
    assert shown["docker"]["endpoint"] == prod.address
    assert await central.central.integrations.stored_password(iid) == SECRET

    renamed = {**_docker(prod.address, ""), "name": "prod-renamed"}
    r = await central.admin("PUT", f"/v1/imageintegrations/{iid}", json=renamed)
    assert r.status_code == 200, r.text
    assert await central.central.integrations.stored_password(iid) == SECRET

    r = await central.admin(
        "PUT", f"/v1/imageintegrations/{iid}", json=_docker(elsewhere.address, "new-one")
    )
    assert r.status_code == 200, r.text
    assert await central.central.integrations.stored_password(iid) == "new-one"
    options = await central.central.integrations.options_for(elsewhere.address)
    assert options.credentials == {elsewhere.address: ("ci", "new-one")}
    assert await central.central.integrations.options_for(prod.address) == type(options)()


async def test_service_account_key_stays_with_its_registry(central, recorders) -> None:
    prod, elsewhere = recorders(), recorders()
    doc = {"name": "gar", "type": "artifactregistry"}
    cfg = {"endpoint": prod.address, "serviceAccount": SERVICE_ACCOUNT_KEY, "insecure": True}
    r = await central.admin("POST", "/v1/imageintegrations", json={**doc, doc["type"]: cfg})
    assert r.status_code == 200, r.text
    iid = r.json()["id"]
    moved = {
        **doc,
        "artifactregistry": {**cfg, "endpoint": elsewhere.address, "serviceAccount": ""},
    }
    r = await central.admin("PUT", f"/v1/imageintegrations/{iid}", json=moved)
    assert r.status_code == 400, r.text
    assert "artifactregistry.serviceAccount" in r.json()["message"]
    r = await central.admin("POST", "/v1/imageintegrations/test", json={**moved, "id": iid})
    assert r.status_code == 400 and "artifactregistry.serviceAccount" in r.json()["message"]
    assert elsewhere.requests == 0
    assert await central.central.integrations.stored_password(iid) == SERVICE_ACCOUNT_KEY


async def test_turning_on_insecure_needs_the_password_again(central, recorders) -> None:
    """A secret stored for a verified TLS registry does not start travelling unverified (or
    over plain HTTP) because the insecure box was ticked later."""
    prod = recorders()
    doc = _docker(prod.address, SECRET)
    doc["docker"]["insecure"] = False  # type: ignore[index]
    r = await central.admin("POST", "/v1/imageintegrations", json=doc)
    assert r.status_code == 200, r.text
    iid = r.json()["id"]
    for call in ("test", "update"):
        body = _docker(prod.address, "******", id=iid)
        if call == "test":
            r = await central.admin("POST", "/v1/imageintegrations/test", json=body)
        else:
            r = await central.admin("PUT", f"/v1/imageintegrations/{iid}", json=body)
        assert r.status_code == 400, r.text
        assert "insecure setting changed" in r.json()["message"]
    assert prod.requests == 0
    shown = (await central.admin("GET", f"/v1/imageintegrations/{iid}")).json()
    assert shown["docker"]["insecure"] is False
