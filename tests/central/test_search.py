"""The query syntax: parser units, every operator against the real database, pagination and
sorting, and injection attempts that must stay data."""

from __future__ import annotations

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockade.central.errors import BadRequest
from stockade.central.search.query import Op, parse_query, raw_query_param

LAYOUT = {
    "prod": {
        "labels": {"env": "prod"},
        "namespaces": {
            "payments": {"deployments": ["api*3", "api-gateway*1", "worker*5", "Ledger*2"]},
            "web": {"deployments": ["frontend*10", "web_1*1"]},
        },
    },
    "staging": {"namespaces": {"payments": {"deployments": ["api*1"]}}},
}


def test_parser_reads_every_operator() -> None:
    terms = parse_query('Deployment:!api,r/w.*,"Ledger"+Replicas:>=3,<2+Namespace:*')
    assert [t.field for t in terms] == ["Deployment", "Replicas", "Namespace"]
    d = terms[0].values
    assert (d[0].op, d[0].text, d[0].negate) == (Op.PREFIX, "api", True)
    assert (d[1].op, d[1].text) == (Op.REGEX, "w.*")
    assert (d[2].op, d[2].text) == (Op.EXACT, "Ledger")
    assert [(v.op, v.text) for v in terms[1].values] == [(Op.GE, "3"), (Op.LT, "2")]
    assert terms[2].values[0].op is Op.ANY


@pytest.mark.parametrize(
    "bad",
    ["Deployment", "Deployment:", ":x", 'Deployment:"open', "Replicas:>=", "Deployment:r/"],
)
def test_parser_rejects_malformed_queries(bad: str) -> None:
    with pytest.raises(BadRequest):
        parse_query(bad)


def test_plus_is_and_whether_sent_raw_or_encoded() -> None:
    assert raw_query_param(b"query=Namespace:a+Cluster:b") == "Namespace:a+Cluster:b"
    assert raw_query_param(b"query=Namespace%3Aa%2BCluster%3Ab&x=1") == "Namespace:a+Cluster:b"
    assert raw_query_param(b"query=Deployment%20Label:app%3Dweb") == "Deployment Label:app=web"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_parser_never_fails_other_than_bad_request(text: str) -> None:
    try:
        parse_query(text)
    except BadRequest:
        pass


async def q(central, query: str, extra: str = "") -> list[str]:
    from urllib.parse import quote

    r = await central.admin("GET", f"/v1/deployments?query={quote(query, safe=':+,!<>=*/')}{extra}")
    assert r.status_code == 200, r.text
    return [d["name"] for d in r.json()["deployments"]]


@pytest.mark.integration
async def test_each_operator_against_the_database(central, seed_inventory) -> None:
    seed_inventory(central.db_url, LAYOUT)
    sort = "&pagination.sortOption.field=Deployment"
    # case-insensitive prefix
    assert await q(central, "Deployment:API", sort) == ["api", "api", "api-gateway"]
    # quoted: exact (case-sensitive)
    assert await q(central, 'Deployment:"api"', sort) == ["api", "api"]
    assert await q(central, 'Deployment:"ledger"') == []
    # regex, case-insensitive, whole-value anchors honoured
    assert await q(central, "Deployment:r/^l.*r$") == ["Ledger"]
    # negation
    assert await q(central, "Namespace:payments+Deployment:!api", sort) == ["Ledger", "worker"]
    # OR within a field, AND across fields
    assert await q(central, "Deployment:worker,frontend", sort) == ["frontend", "worker"]
    assert await q(central, "Cluster:staging+Deployment:api") == ["api"]
    # numeric comparisons
    assert await q(central, "Replicas:>=5", sort) == ["frontend", "worker"]
    assert await q(central, "Replicas:<2", sort) == ["api", "api-gateway", "web_1"]
    assert await q(central, "Replicas:3") == ["api"]
    # labels
    assert await q(central, "Deployment Label:app=led") == ["Ledger"]
    # LIKE wildcards in a prefix are literal: "web_" does not match "webX"
    assert await q(central, "Deployment:web_") == ["web_1"]
    assert await q(central, "Deployment:%") == []
    # field names are case-insensitive
    assert await q(central, "deployment:worker") == ["worker"]


@pytest.mark.integration
async def test_pagination_and_sorting(central, seed_inventory) -> None:
    seed_inventory(central.db_url, LAYOUT)
    base = "&pagination.sortOption.field=Replicas&pagination.sortOption.reversed=true"
    first = await q(central, "Cluster:prod", base + "&pagination.limit=2")
    second = await q(central, "Cluster:prod", base + "&pagination.limit=2&pagination.offset=2")
    assert first == ["frontend", "worker"]
    assert second == ["api", "Ledger"]
    r = await central.admin("GET", "/v1/deployments?pagination.limit=2")
    assert r.json()["totalCount"] == 7
    r = await central.admin("GET", "/v1/deployments?pagination.sortOption.field=Nope")
    assert r.status_code == 400
    r = await central.admin("GET", "/v1/deployments?pagination.limit=abc")
    assert r.status_code == 400


@pytest.mark.integration
@pytest.mark.parametrize(
    "attack",
    [
        "Deployment:x' OR '1'='1",
        'Deployment:"x\'); DROP TABLE deployments; --"',
        "Deployment:r/x') OR true --",
        "Replicas:>1 OR 1=1",
        "Deployment Label:a'=b",
        "Deployment;DROP TABLE clusters:x",
    ],
)
async def test_injection_attempts_stay_data(central, seed_inventory, attack: str) -> None:
    seed_inventory(central.db_url, LAYOUT)
    from urllib.parse import quote

    r = await central.admin("GET", f"/v1/deployments?query={quote(attack)}")
    assert r.status_code in (200, 400), r.text
    if r.status_code == 200:
        assert r.json()["deployments"] == []
    with psycopg.connect(central.db_url) as conn:
        assert conn.execute("SELECT count(*) FROM deployments").fetchone()[0] == 7
        assert conn.execute("SELECT count(*) FROM clusters").fetchone()[0] == 2


@pytest.mark.integration
async def test_errors_name_the_problem(central) -> None:
    r = await central.admin("GET", "/v1/deployments?query=Colour:red")
    assert r.status_code == 400
    assert "Colour" in r.json()["message"] and "Deployment" in r.json()["message"]
    r = await central.admin("GET", "/v1/deployments?query=Replicas:many")
    assert r.status_code == 400 and "number" in r.json()["message"]
    r = await central.admin("GET", "/v1/deployments?query=Deployment:r/(unclosed")
    assert r.status_code == 400 and r.json()["code"] == 3
