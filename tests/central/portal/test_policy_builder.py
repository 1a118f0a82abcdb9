"""The policy criteria builder: the draft's round trip, add/remove post-backs, engine errors
beside the exact input (nothing saved), and a full policy saved and edited through it."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest

from stockade.central.portal.common import POLICY_SEVERITIES
from stockade.central.portal.policy_builder import (
    Draft,
    GroupRow,
    SectionRow,
    draft_from_doc,
    draft_from_form,
    draft_to_doc,
    engine_errors,
)
from stockade.policy.criteria import REGISTRY
from stockade.policy.defaults import load_default_policies
from stockade.policy.errors import PolicyValidationError
from stockade.policy.model import policy_from_json, policy_to_json

from .test_portal import Browser, logged_in

BUILDER_FORM = 'class="policy-form builder"'


class FormReader(HTMLParser):
    """What a browser would submit from the builder form (without a button), and which
    inputs have a <label for=...>."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self.ids: list[str] = []
        self.labelled: set[str] = set()
        self.options: dict[str, list[str]] = {}
        self._in_form = False
        self._select: tuple[str, str] | None = None  # (name, id)
        self._selected: str | None = None
        self._first: str | None = None
        self._option: tuple[bool, str | None] | None = None
        self._textarea: str | None = None
        self._text = ""
        self._label_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and "builder" in a.get("class", ""):
            self._in_form = True
        if tag == "label":
            self._label_depth += 1
            if "for" in a:
                self.labelled.add(a["for"])
        if tag in ("input", "select", "textarea") and self._label_depth and "id" in a:
            self.labelled.add(a["id"])  # wrapped in its label
        if not self._in_form:
            return
        if tag == "input" and a.get("type") != "hidden" and "id" in a:
            self.ids.append(a["id"])
        if tag == "input" and "name" in a:
            if a.get("type") != "checkbox" or "checked" in a:
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select = (a["name"], a["id"])
            self.ids.append(a["id"])
            self.options[a["name"]] = []
            self._selected = self._first = None
        elif tag == "option":
            self._option = ("selected" in a, a.get("value"))
            self._text = ""
        elif tag == "textarea":
            self._textarea = a["name"]
            self.ids.append(a["id"])
            self._text = ""

    def handle_data(self, data: str) -> None:
        self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        if tag == "label":
            self._label_depth -= 1
        if tag == "option" and self._select and self._option:
            selected, value = self._option
            value = self._text if value is None else value
            self.options[self._select[0]].append(value)
            if self._first is None:
                self._first = value
            if selected:
                self._selected = value
            self._option = None
        elif tag == "select" and self._select:
            chosen = self._selected if self._selected is not None else self._first
            self.fields.append((self._select[0], chosen or ""))
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None


def read_form(html: str) -> FormReader:
    r = FormReader()
    r.feed(html)
    return r


def as_dict(fields: list[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in fields:
        if k in out:
            out[k] = [*out[k], v] if isinstance(out[k], list) else [out[k], v]
        else:
            out[k] = v
    return out


def error(html: str, key: str) -> str:
    m = re.search(rf'<p class="field-error" id="{re.escape(key)}-error"[^>]*>([^<]*)</p>', html)
    assert m, f"no error beside {key}"
    return m.group(1)


async def post(b: Browser, path: str, form: dict[str, Any], action: str) -> Any:
    return await b.post(path, {**form, "action": action})


# ---- the draft without a server --------------------------------------------------------------


def test_engine_errors_name_the_exact_input() -> None:
    draft = Draft(
        sections=[
            SectionRow("", [GroupRow("Image Tag", "latest")]),
            SectionRow("named", [GroupRow("Image Tag", "x"), GroupRow("CVSS", "bad")]),
        ]
    )
    exc = PolicyValidationError(
        "not a number", policy="p", section="named", field="CVSS", value="bad"
    )
    assert engine_errors(exc, draft) == {"s1-g1-values": "'bad': not a number"}
    exc = PolicyValidationError("cannot be negated", policy="p", section="#1", field="Image Tag")
    assert engine_errors(exc, draft) == {"s0-g0-negate": "cannot be negated"}
    exc = PolicyValidationError("does not fit", policy="p", section="#1", field="Image Tag")
    assert engine_errors(exc, draft) == {"s0-g0-field": "does not fit"}
    exc = PolicyValidationError("has no criteria", policy="p", section="named")
    assert engine_errors(exc, draft) == {"s1": "has no criteria"}
    exc = PolicyValidationError("names no lifecycle stage", policy="p")
    assert list(engine_errors(exc, draft)) == ["lifecycleStages"]


# ---- through the portal ----------------------------------------------------------------------

integration = pytest.mark.integration


@integration
async def test_builder_lists_every_criterion_with_labels_and_posts_back(central) -> None:
    b = await logged_in(central)
    page = await b.get("/main/policies/new")
    assert page.status_code == 200 and BUILDER_FORM in page.text
    form = read_form(page.text)
    assert set(form.options["s0-g0-field"]) == {"", *REGISTRY}  # all 79 and "choose"
    assert len(REGISTRY) == 79
    unlabelled = [i for i in form.ids if i not in form.labelled]
    assert unlabelled == [], "inputs without a label"
    assert "All 79 criteria and their value syntax" in page.text

    # add a section, a criterion to it, a scope and an exclusion: each re-renders the draft
    fields = as_dict(form.fields)
    fields.update({"name": "Draft kept", "s0-g0-field": "CVSS", "s0-g0-values": ">= 9"})
    for action in ("add-section", "add-group-1", "add-scope", "add-exclusion"):
        r = await post(b, "/main/policies/new", fields, action)
        assert r.status_code == 200, r.text
        fields = as_dict(read_form(r.text).fields)
    assert {"s1-g0-field", "s1-g1-field", "scope0-namespace", "ex0-expiration"} <= set(fields)
    assert fields["name"] == "Draft kept" and fields["s0-g0-values"] == ">= 9"
    assert "a number, optionally after a comparator" in r.text  # CVSS's hint beside it
    r = await post(b, "/main/policies/new", fields, "remove-group-1-0")
    fields = as_dict(read_form(r.text).fields)
    assert "s1-g1-field" not in fields and "s1-g0-field" in fields
    r = await post(b, "/main/policies/new", fields, "remove-section-0")
    fields = as_dict(read_form(r.text).fields)
    assert "s1-name" not in fields and fields["s0-g0-field"] == ""
    assert (await central.admin("GET", '/v1/policies?query=Policy:"Draft kept"')).json()[
        "totalCount"
    ] == 0


@integration
async def test_engine_errors_show_beside_the_field_and_save_nothing(central) -> None:
    b = await logged_in(central)
    before = (await central.admin("GET", "/v1/policies")).json()["totalCount"]
    fields = as_dict(read_form((await b.get("/main/policies/new")).text).fields)
    fields.update(
        {
            "name": "Builder errors",
            "s0-g0-field": "Image Tag",
            "s0-g0-values": "latest",
        }
    )
    r = await post(b, "/main/policies/new", fields, "add-section")
    r = await post(b, "/main/policies/new", as_dict(read_form(r.text).fields), "add-group-1")
    fields = as_dict(read_form(r.text).fields)
    fields.update(
        {
            "s1-g0-field": "Image Registry",
            "s1-g0-values": "quay.io",
            "s1-g1-field": "Image Remote",
            "s1-g1-values": "fine\nr/([unclosed",
        }
    )
    r = await post(b, "/main/policies/new", fields, "save")
    assert r.status_code == 400
    message = error(r.text, "s1-g1-values")
    assert "r/([unclosed" in message and "regular expression" in message.lower()
    assert 'aria-describedby="s1-g1-hint s1-g1-values-error"' in r.text
    assert 'href="#s1-g1-values"' in r.text  # the summary links to the input
    kept = as_dict(read_form(r.text).fields)
    assert kept["s1-g1-values"] == "fine\nr/([unclosed"  # the user's text, for correcting

    # a deploy-only field in a BUILD policy: beside that field
    fields.update({"s1-g1-values": "fine", "s0-g0-field": "Privileged Container"})
    fields["s0-g0-values"] = "true"
    r = await post(b, "/main/policies/new", fields, "save")
    assert r.status_code == 400 and "BUILD" in error(r.text, "s0-g0-field")
    # an enforcement action of a stage the policy lacks, and a malformed expiration
    fields.update({"s0-g0-field": "Image Tag", "s0-g0-values": "latest"})
    fields["enforcementActions"] = "KILL_POD_ENFORCEMENT"
    r = await post(b, "/main/policies/new", fields, "add-exclusion")
    fields = {**as_dict(read_form(r.text).fields), "enforcementActions": "KILL_POD_ENFORCEMENT"}
    fields.update({"ex0-image": "quay.io/acme/app", "ex0-expiration": "next tuesday"})
    fields["eventSource"] = "SOMETHING_ELSE"  # not an option: a forged form
    r = await post(b, "/main/policies/new", fields, "save")
    assert r.status_code == 400
    assert "RUNTIME" in error(r.text, "enforcementActions")
    assert "RFC 3339" in error(r.text, "ex0-expiration")
    assert "event source" in error(r.text, "eventSource")
    assert (await central.admin("GET", "/v1/policies")).json()["totalCount"] == before


@integration
async def test_save_a_full_policy_then_edit_it_keeping_what_the_builder_does_not_show(
    start_central, database_url
) -> None:
    central = await start_central(database_url, notifier_allow_local_endpoints=True)
    notifier = await central.admin(
        "POST",
        "/v1/notifiers",
        json={
            "name": "hook",
            "type": "generic",
            "generic": {"endpoint": "http://127.0.0.1:9/hook"},
        },
    )
    assert notifier.status_code == 200, notifier.text
    notifier_id = notifier.json()["id"]
    b = await logged_in(central)
    r = await b.get("/main/policies/new")
    assert 'name="notifiers" value="' + notifier_id + '"' in r.text
    fields = as_dict(read_form(r.text).fields)
    for action in ("add-group-0", "add-scope", "add-exclusion"):
        r = await post(b, "/main/policies/new", fields, action)
        fields = as_dict(read_form(r.text).fields)
    fields.update(
        {
            "name": "Builder: fixable criticals",
            "description": "Critical CVEs with a fix",
            "rationale": "They are known and fixable.",
            "remediation": "Upgrade the component.",
            "severity": "HIGH_SEVERITY",
            "categories": "Vulnerability Management",
            "new-categories": "Builder tests",
            "lifecycleStages": ["BUILD", "DEPLOY"],
            "s0-name": "criticals",
            "s0-g0-field": "Severity",
            "s0-g0-values": ">= CRITICAL",
            "s0-g1-field": "Fixed By",
            "s0-g1-values": ".*",
            "scope0-namespace": "shop",
            "scope0-label-key": "team",
            "scope0-label-value": "web",
            "ex0-name": "legacy",
            "ex0-deployment": "legacy-app",
            "ex0-namespace": "shop",
            "ex0-expiration": "2099-01-31",
            "enforcementActions": ["FAIL_BUILD_ENFORCEMENT", "SCALE_TO_ZERO_ENFORCEMENT"],
            "notifiers": notifier_id,
        }
    )
    fields.pop("enabled", None)  # saved disabled
    r = await post(b, "/main/policies/new", fields, "save")
    assert r.status_code == 303, r.text
    found = await central.admin("GET", '/v1/policies?query=Policy:"Builder: fixable criticals"')
    pid = found.json()["policies"][0]["id"]
    doc = (await central.admin("GET", f"/v1/policies/{pid}")).json()
    assert doc["disabled"] is True and doc["severity"] == "HIGH_SEVERITY"
    assert doc["categories"] == ["Vulnerability Management", "Builder tests"]
    assert doc["lifecycleStages"] == ["BUILD", "DEPLOY"]
    assert doc["policySections"] == [
        {
            "sectionName": "criticals",
            "policyGroups": [
                {
                    "fieldName": "Severity",
                    "booleanOperator": "OR",
                    "negate": False,
                    "values": [{"value": ">= CRITICAL"}],
                },
                {
                    "fieldName": "Fixed By",
                    "booleanOperator": "OR",
                    "negate": False,
                    "values": [{"value": ".*"}],
                },
            ],
        }
    ]
    assert doc["scope"] == [{"namespace": "shop", "label": {"key": "team", "value": "web"}}]
    assert doc["exclusions"] == [
        {
            "name": "legacy",
            "deployment": {"name": "legacy-app", "scope": {"namespace": "shop"}},
            "expiration": "2099-01-31T00:00:00Z",
        }
    ]
    assert doc["enforcementActions"] == ["FAIL_BUILD_ENFORCEMENT", "SCALE_TO_ZERO_ENFORCEMENT"]
    assert doc["notifiers"] == [notifier_id]

    # a key the builder does not show survives an edit in the builder
    doc["mitreAttackVectors"] = [{"tactic": "TA0001", "techniques": ["T1190"]}]
    assert (await central.admin("PUT", f"/v1/policies/{pid}", json=doc)).status_code == 200
    page = await b.get(f"/main/policies/{pid}/edit")
    assert page.status_code == 200 and BUILDER_FORM in page.text
    fields = as_dict(read_form(page.text).fields)
    assert fields["s0-g0-values"] == ">= CRITICAL" and fields["ex0-expiration"] == (
        "2099-01-31T00:00:00Z"
    )
    fields.update({"severity": "CRITICAL_SEVERITY", "enabled": "true"})
    r = await post(b, f"/main/policies/{pid}/edit", fields, "save")
    assert r.status_code == 303, r.text
    after = (await central.admin("GET", f"/v1/policies/{pid}")).json()
    assert after["severity"] == "CRITICAL_SEVERITY" and after["disabled"] is False
    assert after["mitreAttackVectors"] == doc["mitreAttackVectors"]
    assert after["exclusions"] == doc["exclusions"] and after["scope"] == doc["scope"]
    # the JSON editor is still there, beside the builder
    page = await b.get(f"/main/policies/{pid}/edit?editor=json")
    assert 'id="policy_json"' in page.text and "T1190" in page.text


def test_every_default_policy_survives_the_builder_unchanged() -> None:
    """Opening a policy in the builder and saving it without edits stores the same policy."""
    policies = load_default_policies()
    assert len(policies) > 50
    for policy in policies:
        doc = policy_to_json(policy)
        rebuilt, errors = draft_to_doc(draft_from_doc(doc), doc, POLICY_SEVERITIES)
        assert errors == {}, (policy.name, errors)
        again = policy_from_json(rebuilt)
        assert again.sections == policy.sections, policy.name
        assert again.exclusions == policy.exclusions, policy.name
        assert again.scope == policy.scope, policy.name
        for key in ("name", "description", "rationale", "remediation", "severity", "categories",
                    "lifecycle_stages", "event_source", "disabled", "enforcement_actions",
                    "notifiers", "mitre_attack_vectors"):  # fmt: skip
            assert getattr(again, key) == getattr(policy, key), (policy.name, key)


def test_exclusion_keys_the_builder_does_not_show_survive_a_save_through_the_form() -> None:
    """A stored exclusion's keys beyond the builder's boxes (here a future top-level key and
    one inside the deployment) ride through the form in a hidden field and are written back;
    what the boxes say wins over the stored values."""
    from starlette.datastructures import FormData

    stored = {
        "name": "Builder: keeps",
        "severity": "LOW_SEVERITY",
        "lifecycleStages": ["DEPLOY"],
        "categories": ["Anomalous Activity"],
        "policySections": [
            {"policyGroups": [{"fieldName": "Image Tag", "values": [{"value": "latest"}]}]}
        ],
        "exclusions": [
            {
                "name": "legacy",
                "deployment": {"name": "legacy", "scope": {"namespace": "shop"}, "note": "x1"},
                "reviewTicket": "SEC-42",
            }
        ],
    }
    draft = draft_from_doc(stored)
    assert draft.exclusions[0].kept
    # the form as the page renders it, with the deployment name edited
    fields = {
        "name": stored["name"],
        "severity": "LOW_SEVERITY",
        "lifecycleStages": "DEPLOY",
        "categories": "Anomalous Activity",
        "s0-name": "",
        "s0-g0-field": "Image Tag",
        "s0-g0-values": "latest",
        "s0-g0-op": "OR",
        "ex0-name": "legacy",
        "ex0-deployment": "legacy-v2",
        "ex0-namespace": "shop",
        "ex0-kept": draft.exclusions[0].kept,
    }
    rebuilt, errors = draft_to_doc(draft_from_form(FormData(fields)), stored, POLICY_SEVERITIES)
    assert errors == {}
    assert rebuilt["exclusions"] == [
        {
            "name": "legacy",
            "deployment": {"name": "legacy-v2", "scope": {"namespace": "shop"}, "note": "x1"},
            "reviewTicket": "SEC-42",
        }
    ]
    assert policy_from_json(rebuilt).exclusions[0].deployment_name == "legacy-v2"


async def test_saving_unedited_from_the_builder_keeps_an_exclusions_extra_keys(central) -> None:
    doc = {
        "name": "Builder: extra keys",
        "severity": "LOW_SEVERITY",
        "lifecycleStages": ["DEPLOY"],
        "categories": ["Anomalous Activity"],
        "policySections": [
            {"policyGroups": [{"fieldName": "Image Tag", "values": [{"value": "latest"}]}]}
        ],
        "exclusions": [
            {"name": "legacy", "deployment": {"name": "legacy"}, "reviewTicket": "SEC-42"}
        ],
    }
    r = await central.admin("POST", "/v1/policies", json=doc)
    assert r.status_code == 200, r.text
    pid = r.json()["id"]
    b = await logged_in(central)
    page = await b.get(f"/main/policies/{pid}/edit")
    fields = as_dict(read_form(page.text).fields)
    assert "ex0-kept" in fields
    r = await post(b, f"/main/policies/{pid}/edit", fields, "save")
    assert r.status_code == 303, r.text
    stored = (await central.admin("GET", f"/v1/policies/{pid}")).json()
    assert stored["exclusions"] == doc["exclusions"]
