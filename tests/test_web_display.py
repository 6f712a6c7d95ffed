"""The dashboard's words for a status, as the daemon sends it."""

from mickill_web.display import present

STATUS = {"ok": True, "state": "muted", "locked": True, "reason": "switch in cut position", "source": "switch",
          "until": None, "next_change": None, "clock": {"trusted": True, "policy": "trust"}, "fault": None,
          "simulated": True, "control": "switch", "switch": "cut", "relay": "cut", "sense": None, "led": "on",
          "wiring": "power", "timezone": "UTC", "override": None}


def test_a_switch_in_cut_is_not_called_a_button_lock():
    words = present(STATUS)
    assert words["state"] == "CUT" and "flip it to auto" in words["locked"] and "button" not in words["locked"]


def test_a_locked_window_names_the_button():
    words = present({**STATUS, "control": "button", "switch": None, "source": "schedule", "reason": "window 'Night'"})
    assert words["locked"] == "Locked: only the physical button can open it"
