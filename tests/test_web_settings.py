"""The settings page shows and saves the clock policy truly: the stored choice preselected
(null: the config file's), only changed keys sent, the daemon's `clock` refusal shown."""

import re

from web_support import admin_folder, ask, daemon_folder, errors_in, login, make_app  # noqa: F401


def selected_policy(page: str) -> tuple[str, str]:
    """The value and text of the clock policy option a browser would show."""
    select = re.search(r'<select[^>]*id="clock_policy"[^>]*>(.*?)</select>', page, re.S).group(1)
    options = re.findall(r'<option([^>]*)>([^<]*)</option>', select)
    chosen = [(attrs, text) for attrs, text in options if "selected" in attrs] or options[:1]
    assert len(chosen) == 1, select
    attrs, text = chosen[0]
    return re.search(r'value="([^"]*)"', attrs).group(1), text


def browser_post(client, **changes):
    """Submit the settings form as a browser would: every field as shown, some changed."""
    page = client.get("/settings").get_data(as_text=True)
    form = re.search(r'<form[^>]*action="/settings"[^>]*>(.*?)</form>', page, re.S).group(1)
    data = {name: value for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form)}
    data["clock_policy"] = selected_policy(page)[0]
    data = {name: value.replace("&#34;", '"').replace("&quot;", '"') for name, value in data.items()}
    return client.post("/settings", data={**data, **changes})


def logged_in(folder):
    client = make_app(folder).test_client()
    login(client)
    return client


def test_a_fresh_daemon_shows_the_config_files_policy_and_keeps_it(admin_folder):
    assert ask(admin_folder, "settings.get")["settings"]["clock_policy"] is None
    assert ask(admin_folder, "status")["clock"]["policy"] == "trust"  # simulated mode's default
    client = logged_in(admin_folder)
    value, text = selected_policy(client.get("/settings").get_data(as_text=True))
    assert (value, text) == ("", "As in the config file (trust the clock)")
    assert browser_post(client, default_unmute_min="30").status_code == 302
    settings = ask(admin_folder, "settings.get")["settings"]
    assert settings["default_unmute_s"] == 1800 and settings["clock_policy"] is None
    assert ask(admin_folder, "status")["clock"] == {"trusted": True, "policy": "trust"}


def test_a_stored_policy_is_preselected_and_survives_other_changes(admin_folder):
    ask(admin_folder, "sim.clock", synced=True)  # this machine's own clock may not be synchronised
    ask(admin_folder, "settings.set", settings={"clock_policy": "wait-sync"})
    try:
        client = logged_in(admin_folder)
        page = client.get("/settings").get_data(as_text=True)
        assert selected_policy(page) == ("wait-sync", "Wait for synchronisation")
        # The config file's own choice is named even while a stored setting overrides it.
        assert "As in the config file (trust the clock)" in page
        assert browser_post(client, hold_s="3").status_code == 302
        settings = ask(admin_folder, "settings.get")["settings"]
        assert settings["hold_s"] == 3 and settings["clock_policy"] == "wait-sync"
        assert browser_post(client, clock_policy="").status_code == 302  # back to the config file's
        assert ask(admin_folder, "settings.get")["settings"]["clock_policy"] is None
    finally:
        ask(admin_folder, "settings.set", settings={"clock_policy": None, "hold_s": 2.0})
        ask(admin_folder, "sim.clock", synced=None)


def test_only_changed_keys_are_sent(admin_folder):
    client = logged_in(admin_folder)
    page = client.get("/settings").get_data(as_text=True)
    form = re.search(r'<form[^>]*action="/settings"[^>]*>(.*?)</form>', page, re.S).group(1)
    shown = re.search(r'name="shown"[^>]*value="([^"]*)"', form).group(1).replace("&#34;", '"')
    # Someone else changes the hold while this page is open; saving the unmute keeps their hold.
    ask(admin_folder, "settings.set", settings={"hold_s": 4.5})
    try:
        saved = client.post("/settings", data={"default_unmute_min": "20", "hold_s": "2", "clock_policy": "",
                                               "shown": shown})
        assert saved.status_code == 302
        settings = ask(admin_folder, "settings.get")["settings"]
        assert settings["default_unmute_s"] == 1200 and settings["hold_s"] == 4.5
        same = client.post("/settings", data={"default_unmute_min": "20", "hold_s": "4.5", "clock_policy": ""},
                           follow_redirects=True)
        assert "Nothing to save" in same.get_data(as_text=True)
    finally:
        ask(admin_folder, "settings.set", settings={"hold_s": 2.0, "default_unmute_s": 900})


def test_trusting_an_untrusted_clock_is_refused_next_to_the_field(admin_folder):
    ask(admin_folder, "settings.set", settings={"clock_policy": "wait-sync"})
    ask(admin_folder, "sim.clock", synced=False)
    try:
        assert ask(admin_folder, "status")["clock"] == {"trusted": False, "policy": "wait-sync"}
        client = logged_in(admin_folder)
        for choice in ("trust", ""):  # the config file's policy here is to trust
            response = browser_post(client, clock_policy=choice)
            page = response.get_data(as_text=True)
            assert response.status_code == 409
            error = re.search(r'<p class="error" id="clock_policy-error">([^<]*)</p>', page).group(1)
            assert error.startswith("Not saved (clock): the clock is not trusted now")
            assert errors_in(page) == [error]
            assert ask(admin_folder, "settings.get")["settings"]["clock_policy"] == "wait-sync"
        # Other settings still save while the clock waits.
        assert browser_post(client, default_unmute_min="10").status_code == 302
        assert ask(admin_folder, "settings.get")["settings"]["default_unmute_s"] == 600
    finally:
        ask(admin_folder, "sim.clock", synced=True)
        ask(admin_folder, "settings.set", settings={"clock_policy": None, "default_unmute_s": 900})
        ask(admin_folder, "sim.clock", synced=None)
