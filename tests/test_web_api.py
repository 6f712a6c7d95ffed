"""The JSON API under /api/v1: bearer tokens, the same policy as the panel, and the OpenAPI
document kept true to the implementation (paths, methods and real responses)."""

import json
import re
from pathlib import Path

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_spec

import mickill_web
from web_support import admin_folder, ask, daemon_folder, make_app, reset_schedule  # noqa: F401

SPEC = json.loads((Path(mickill_web.__file__).parent / "openapi.json").read_text())
ALWAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
EMPTY = {"timezone": "Europe/London", "default": "live", "window": [], "exception": []}
NIGHT = {"name": "Night", "days": ALWAYS, "start": "22:00", "end": "07:00", "state": "muted"}


def inline(node):
    """The schema with every local $ref replaced by what it points at (the spec has no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[1]
            return inline(SPEC["components"]["schemas"][name])
        return {key: inline(value) for key, value in node.items()}
    if isinstance(node, list):
        return [inline(item) for item in node]
    return node


def check(response, path: str, method: str):
    """The response's body validates against the schema documented for its status."""
    documented = SPEC["paths"][path][method.lower()]["responses"]
    assert str(response.status_code) in documented, f"{method} {path} answered undocumented {response.status_code}"
    schema = inline(documented[str(response.status_code)]["content"]["application/json"]["schema"])
    OAS30Validator(schema).validate(response.get_json())
    return response.get_json()


@pytest.fixture(scope="module")
def token(admin_folder):
    return ask(admin_folder, "token.create", name="tests")["token"]


@pytest.fixture
def api(admin_folder, token):
    reset_schedule(admin_folder, EMPTY)
    client = make_app(admin_folder, csrf=True).test_client()  # CSRF on: the API must not need it
    headers = {"Authorization": f"Bearer {token}"}

    def call(method, path, **kwargs):
        return client.open(path, method=method, headers=headers, **kwargs)
    return call


def test_the_document_is_valid_openapi():
    validate_spec(SPEC)


def test_documented_paths_are_exactly_the_implemented_ones():
    app = make_app("/nonexistent-mickill-folder")
    implemented = {(re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule), method.lower())
                   for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1")
                   for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, methods in SPEC["paths"].items() for method in methods}
    assert implemented == documented


def test_real_responses_match_the_document(api):
    check(api("GET", "/api/v1/status"), "/api/v1/status", "GET")
    assert check(api("POST", "/api/v1/mute"), "/api/v1/mute", "POST")["state"] == "muted"
    assert check(api("POST", "/api/v1/unmute", json={"for": 600}), "/api/v1/unmute", "POST")["state"] == "live"
    check(api("PUT", "/api/v1/schedule", json={"schedule": {**EMPTY, "window": [NIGHT]}}), "/api/v1/schedule", "PUT")
    got = check(api("GET", "/api/v1/schedule"), "/api/v1/schedule", "GET")
    assert got["schedule"]["window"][0]["name"] == "Night"
    check(api("POST", "/api/v1/schedule/validate", json={"toml": got["toml"]}), "/api/v1/schedule/validate", "POST")
    plan = check(api("GET", "/api/v1/plan?from=2027-01-04T00:00&to=2027-01-05T00:00"), "/api/v1/plan", "GET")
    assert [(c["at"], c["state"]) for c in plan["changes"]] == [
        ("2027-01-04T00:00:00+00:00", "muted"), ("2027-01-04T07:00:00+00:00", "live"),
        ("2027-01-04T22:00:00+00:00", "muted")]
    ledger = check(api("GET", "/api/v1/ledger"), "/api/v1/ledger", "GET")
    assert any(change["source"] == "api" for change in ledger["changes"])


def test_invalid_schedule_names_entry_and_field_and_saves_nothing(api):
    bad = {**EMPTY, "window": [{**NIGHT, "start": "25:00"}]}
    for method, path in (("PUT", "/api/v1/schedule"), ("POST", "/api/v1/schedule/validate")):
        response = api(method, path, json={"schedule": bad})
        body = check(response, path, method)
        assert response.status_code == 422 and body["field"] == "start" and "window 1" in body["entry"]
    assert api("GET", "/api/v1/schedule").get_json()["schedule"]["window"] == []


def test_same_policy_as_the_panel(api, admin_folder):
    locked = {**EMPTY, "window": [{**NIGHT, "start": "00:00", "end": "00:00", "locked": True}]}
    api("PUT", "/api/v1/schedule", json={"schedule": locked})
    refused = api("POST", "/api/v1/unmute")
    assert refused.status_code == 409 and check(refused, "/api/v1/unmute", "POST")["error"] == "locked"
    assert api("POST", "/api/v1/mute").status_code == 200  # muting is never refused
    assert ask(admin_folder, "status")["state"] == "muted"


@pytest.mark.parametrize("body", [{"for": -5}, {"for": "ten"}, [1, 2]])
def test_bad_bodies_are_400(api, body):
    response = api("POST", "/api/v1/mute", json=body)
    assert response.status_code == 400 and check(response, "/api/v1/mute", "POST")["message"]


def test_token_lifecycle(admin_folder):
    client = make_app(admin_folder).test_client()
    assert client.get("/api/v1/status").status_code == 401
    assert client.get("/api/v1/status", headers={"Authorization": "Basic abc"}).status_code == 401
    made = ask(admin_folder, "token.create", name="short-lived")
    headers = {"Authorization": f"Bearer {made['token']}"}
    assert client.get("/api/v1/status", headers=headers).status_code == 200
    assert client.get("/api/v1/status", headers={"Authorization": f"Bearer {made['token']}x"}).status_code == 401
    ask(admin_folder, "token.revoke", id=made["id"])
    refused = client.get("/api/v1/status", headers=headers)
    assert refused.status_code == 401 and refused.get_json()["error"] == "bad_token"
    # A session cookie does not open the API, and a token does not open the pages.
    assert client.get("/", headers=headers).location.endswith("/login")
