"""The panel's pages against a real daemon on simulated pins: state, actions, refusals, the
schedule editor's forms, escaping, settings, tokens, the ledger and the simulator."""

import csv
import io
import re
import time
from datetime import datetime, timezone

import pytest

from web_support import (PASSWORD, admin_folder, ask, daemon_folder, errors_in, login, make_app,  # noqa: F401
                         reset_schedule)

ALWAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
EMPTY = {"timezone": "Europe/London", "default": "live", "window": [], "exception": []}


@pytest.fixture
def client(admin_folder):
    reset_schedule(admin_folder, EMPTY)
    ask(admin_folder, "mute")  # a clean slate: any unmute in force ends
    ask(admin_folder, "unmute", **{"for": 60})
    ask(admin_folder, "sim.sense_fault", on=False)
    ask(admin_folder, "fault.clear")
    web = make_app(admin_folder).test_client()
    assert login(web).status_code == 302
    yield web


def window(**fields):
    entry = {"name": "Night", "days": ALWAYS, "start": "22:00", "end": "07:00", "state": "muted", "enabled": "y"}
    entry.update(fields)
    return {key: value for key, value in entry.items() if value is not None}


def page(response) -> str:
    return response.get_data(as_text=True)


def test_dashboard_shows_state_in_words(client, admin_folder):
    assert "LIVE" in page(client.get("/"))
    assert client.post("/mute").status_code == 302
    text = page(client.get("/"))
    assert "CUT" in text and "The microphone is cut" in text and "Muted: the microphone is cut." in text
    status = client.get("/status.json").get_json()
    assert status["status"]["state"] == "muted" and status["display"]["state"] == "CUT"
    assert status["display"]["source"] == "the web panel"


@pytest.mark.parametrize("choice, lower, upper", [("900", 890, 900), ("3600", 3590, 3600)])
def test_unmute_for_a_while(client, admin_folder, choice, lower, upper):
    ask(admin_folder, "schedule.set", schedule={**EMPTY, "default": "muted"})
    assert ask(admin_folder, "status")["state"] == "muted"
    client.post("/unmute", data={"duration": choice})
    status = ask(admin_folder, "status")
    assert status["state"] == "live" and status["override"]["kind"] == "unmute"
    left = datetime.fromisoformat(status["override"]["until"]) - datetime.now(timezone.utc)
    assert lower <= left.total_seconds() <= upper


def test_unmute_in_a_locked_window_shows_the_refusal(client, admin_folder):
    locked = {**EMPTY, "window": [{"name": "All day", "days": ALWAYS, "start": "00:00", "end": "00:00",
                                   "state": "muted", "locked": True}]}
    ask(admin_folder, "schedule.set", schedule=locked)
    dashboard = page(client.get("/"))
    assert "Locked: only the physical button can open it" in dashboard
    response = client.post("/unmute", data={"duration": "next"}, follow_redirects=True)
    assert "Refused (locked)" in page(response)
    assert ask(admin_folder, "status")["state"] == "muted"


def test_window_is_saved_and_drawn(client, admin_folder):
    assert client.post("/schedule/window/new", data=window(locked="y")).status_code == 302
    saved = ask(admin_folder, "schedule.get")["schedule"]["window"]
    assert saved == [{"name": "Night", "days": ALWAYS, "start": "22:00", "end": "07:00", "state": "muted",
                      "locked": True}]
    text = page(client.get("/schedule"))
    assert "CUT, LOCKED" in text and "Night" in text and "<svg class=\"week\"" in text


@pytest.mark.parametrize("fields, field_text", [
    ({"name": ""}, "name"),
    ({"days": None}, "days"),
    ({"start": "25:00"}, "start"),
    ({"end": "7pm"}, "end"),
    ({"state": "live", "locked": "y"}, "locked"),
])
def test_invalid_window_is_explained_and_nothing_saved(client, admin_folder, fields, field_text):
    before = ask(admin_folder, "schedule.get")["toml"]
    response = client.post("/schedule/window/new", data=window(**fields))
    assert response.status_code == 422
    errors = errors_in(page(response))
    assert len(errors) == 1 and field_text in errors[0]
    assert ask(admin_folder, "schedule.get")["toml"] == before


@pytest.mark.parametrize("first, last, field_text", [("2027-12-26", "2027-12-24", "from"), ("24/12/2027", "2027-12-26", "from")])
def test_invalid_exception_is_explained(client, admin_folder, first, last, field_text):
    response = client.post("/schedule/exception/new", data={"name": "Xmas", "first": first, "last": last,
                                                             "state": "muted", "enabled": "y"})
    assert response.status_code == 422
    assert errors_in(page(response))
    assert ask(admin_folder, "schedule.get")["schedule"]["exception"] == []


def shown_version(client) -> str:
    """The schedule's fingerprint as the schedule page shows it (what a browser would send)."""
    return re.search(r'name="version" value="([0-9a-f]+)"', page(client.get("/schedule"))).group(1)


def test_edit_toggle_and_delete(client, admin_folder):
    client.post("/schedule/window/new", data=window())
    edited = client.post("/schedule/window/1", data={**window(name="Late", start="23:00"), "version": shown_version(client)})
    assert edited.status_code == 302
    assert ask(admin_folder, "schedule.get")["schedule"]["window"][0]["start"] == "23:00"
    client.post("/schedule/window/1/toggle", data={"version": shown_version(client)})
    assert ask(admin_folder, "schedule.get")["schedule"]["window"][0]["enabled"] is False
    client.post("/schedule/window/1/toggle", data={"version": shown_version(client)})
    assert "enabled" not in ask(admin_folder, "schedule.get")["schedule"]["window"][0]
    client.post("/schedule/window/1/delete", data={"version": shown_version(client)})
    assert ask(admin_folder, "schedule.get")["schedule"]["window"] == []
    assert client.get("/schedule/window/1").status_code == 404


def test_an_edit_from_a_stale_page_changes_nothing(client, admin_folder):
    client.post("/schedule/window/new", data=window(name="First"))
    client.post("/schedule/window/new", data=window(name="Second", start="01:00", end="02:00"))
    stale = shown_version(client)
    # Meanwhile, elsewhere, the first window is deleted: "number 1" is now the second one.
    document = ask(admin_folder, "schedule.get")["schedule"]
    ask(admin_folder, "schedule.set", schedule={**document, "window": document["window"][1:]})
    for url in ("/schedule/window/1/delete", "/schedule/window/1/toggle"):
        response = client.post(url, data={"version": stale}, follow_redirects=True)
        assert "nothing was saved" in page(response)
    response = client.post("/schedule/window/1", data={**window(name="Edited"), "version": stale},
                           follow_redirects=True)
    assert "nothing was saved" in page(response)
    assert [w["name"] for w in ask(admin_folder, "schedule.get")["schedule"]["window"]] == ["Second"]


def test_names_are_escaped_everywhere(client, admin_folder):
    evil = "<script>alert(1)</script>"
    client.post("/schedule/window/new", data=window(name=evil))
    client.post("/settings/tokens", data={"name": evil})
    for path in ("/schedule", "/schedule/window/1", "/settings"):
        text = page(client.get(path))
        assert evil not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text, path


def test_zone_export_and_import(client, admin_folder):
    client.post("/schedule/zone", data={"timezone": "America/New_York", "default": "muted"})
    assert ask(admin_folder, "schedule.get")["schedule"]["timezone"] == "America/New_York"
    client.post("/schedule/window/new", data=window())
    exported = client.get("/schedule/export")
    assert exported.headers["Content-Disposition"].startswith("attachment")
    text = page(exported)
    ask(admin_folder, "schedule.set", schedule=EMPTY)
    done = client.post("/schedule/import", data={"file": (io.BytesIO(text.encode()), "s.toml")},
                       content_type="multipart/form-data", follow_redirects=True)
    assert "Imported the schedule." in page(done)
    assert ask(admin_folder, "schedule.get")["toml"] == text
    bad = client.post("/schedule/import", data={"file": (io.BytesIO(b'timezone = "Mars/Base"'), "s.toml")},
                      content_type="multipart/form-data", follow_redirects=True)
    assert "Not imported, nothing changed" in page(bad) and "Mars/Base" in page(bad)
    assert ask(admin_folder, "schedule.get")["toml"] == text


def test_preview_flags_days_the_clocks_change(client, admin_folder):
    client.post("/schedule/window/new", data=window(start="01:30", end="02:30"))
    text = page(client.get("/schedule"))
    assert "Next 14 days" in text
    # Europe/London: whenever a change in the next fortnight falls on a DST day, it says so.
    from datetime import date, timedelta

    from mickill_web.display import clocks_change_on
    from zoneinfo import ZoneInfo
    zone = ZoneInfo("Europe/London")
    dst_soon = any(clocks_change_on(date.today() + timedelta(days=n), zone) for n in range(15))
    assert ("clocks change this day" in text) == dst_soon


def test_settings_are_saved_and_checked(client, admin_folder):
    ok = client.post("/settings", data={"default_unmute_min": "30", "hold_s": "3", "clock_policy": "trust"})
    assert ok.status_code == 302
    assert ask(admin_folder, "settings.get")["settings"]["default_unmute_s"] == 1800
    for data in ({"default_unmute_min": "abc", "hold_s": "3", "clock_policy": "trust"},
                 {"default_unmute_min": "30", "hold_s": "99", "clock_policy": "trust"}):
        response = client.post("/settings", data=data)
        assert response.status_code == 422 and errors_in(page(response))
    assert ask(admin_folder, "settings.get")["settings"]["hold_s"] == 3


def test_password_change(client, admin_folder):
    wrong = client.post("/settings/password", data={"old_password": "nope", "new_password": "a new long password"})
    assert wrong.status_code == 422 and "current password is wrong" in page(wrong)
    short = client.post("/settings/password", data={"old_password": PASSWORD, "new_password": "short"})
    assert short.status_code == 422 and "at least 10" in page(short)
    assert client.post("/settings/password", data={"old_password": PASSWORD, "new_password": "a new long password"}).status_code == 302
    other = make_app(admin_folder).test_client()
    assert login(other, PASSWORD).status_code == 401
    assert client.post("/settings/password", data={"old_password": "a new long password", "new_password": PASSWORD}).status_code == 302


def test_token_shown_once_then_revoked(client, admin_folder):
    created = client.post("/settings/tokens", data={"name": "home assistant"})
    assert created.status_code == 201
    token = page(created).split('id="new-token" class="token" readonly value="')[1].split('"')[0]
    assert token not in page(client.get("/settings"))
    api = make_app(admin_folder).test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/status", headers=auth).status_code == 200
    token_id = [t for t in ask(admin_folder, "token.list")["tokens"] if t["name"] == "home assistant"][-1]["id"]
    client.post(f"/settings/tokens/{token_id}/revoke")
    assert api.get("/api/v1/status", headers=auth).status_code == 401
    assert client.post("/settings/tokens", data={"name": ""}).status_code == 422


def test_ledger_shows_changes_and_downloads_csv(client, admin_folder):
    ask(admin_folder, "schedule.set", schedule={**EMPTY, "default": "muted"})
    client.post("/unmute", data={"duration": "900"})
    for days in (7, 30):
        text = page(client.get(f"/ledger?days={days}"))
        assert text.count('class="daybar"') == days and "the web panel" in text
        if days == 30:
            # The daemon started today: the weeks before it are drawn empty, not as "cut".
            assert text.count('class="seg-muted"') + text.count('class="seg-live"') < 10
    rows = list(csv.reader(io.StringIO(page(client.get("/ledger/download.csv")))))
    assert rows[0] == ["at", "state", "source", "reason"]
    assert ["live", "web"] == rows[-1][1:3]


def test_simulator_button_and_fault(client, admin_folder):
    assert ask(admin_folder, "status")["state"] == "live"
    # The sense contact sticks where it is (live); the press then cuts the relay under it.
    client.post("/simulator/fault", data={"on": "1"})
    client.post("/simulator/press")
    client.post("/simulator/release")
    assert ask(admin_folder, "status")["state"] == "muted"  # a press while live cuts
    pins = client.get("/simulator/pins.json").get_json()
    assert pins["state"] == "muted" and set(pins["pins"]) >= {"relay", "led", "sense", "control"}
    deadline = time.monotonic() + 3  # the daemon calls it a fault after [sense] fault_ms
    while not ask(admin_folder, "status")["fault"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ask(admin_folder, "status")["fault"]
    dashboard = page(client.get("/"))
    assert 'data-field="fault" class="warn"' in dashboard and "Clear the fault" in dashboard
    client.post("/simulator/fault", data={"on": "0"})
    assert client.post("/fault/clear").status_code == 302
    assert ask(admin_folder, "status")["fault"] is None
    assert "Clear the fault" not in page(client.get("/"))
    assert client.post("/simulator/hold", data={"seconds": "7"}).status_code == 400
