"""Strict validation: every kind of invalid schedule names its entry and field and says what to write."""

import pytest

from mickill.errors import MickillError, ScheduleError
from mickill.schedule import empty, loads, parse

HEAD = 'timezone = "Europe/London"\ndefault = "live"\n'
NIGHT = '[[window]]\nname = "Night"\ndays = ["mon", "tue"]\nstart = "22:00"\nend = "07:00"\nstate = "muted"\n'
XMAS = '[[exception]]\nname = "Christmas"\nfrom = "2026-12-24"\nto = "2026-12-26"\nstate = "muted"\n'
VALID = HEAD + NIGHT + NIGHT.replace("Night", "Day") + XMAS


def second_window(replace: str, by: str) -> str:
    """VALID with one line of its second window ("Day") changed."""
    day = NIGHT.replace("Night", "Day")
    assert replace in day, replace
    return HEAD + NIGHT + day.replace(replace, by) + XMAS


def christmas(replace: str, by: str) -> str:
    assert replace in XMAS, replace
    return VALID.replace(XMAS, XMAS.replace(replace, by))


DAY = 'window 2 ("Day")'
XM = 'exception 1 ("Christmas")'

CASES = [
    # top level
    ('colour = "red"\n' + VALID, None, "colour", "unknown top-level key"),
    (VALID + 'colour = "red"\n', XM, "colour", "unknown key; the keys are name, from, to"),
    (VALID.replace('timezone = "Europe/London"\n', ""), None, "timezone", "missing"),
    (VALID.replace("Europe/London", "Europe/Londn"), None, "timezone", 'unknown zone "Europe/Londn"'),
    (VALID.replace('"Europe/London"', "3"), None, "timezone", "IANA name"),
    (VALID.replace('default = "live"', 'default = "on"'), None, "default", 'write "muted" or "live"'),
    (HEAD + "window = 3\n", None, "window", "[[window]]"),
    (HEAD + 'exception = "none"\n', None, "exception", "[[exception]]"),
    (HEAD + "window = [1]\n", "window 1", "entry", "not a table"),
    # windows
    (second_window('start = "22:00"', 'strat = "22:00"'), DAY, "strat", "unknown key"),
    (second_window('start = "22:00"\n', ""), DAY, "start", "missing"),
    (second_window('name = "Day"\n', ""), "window 2", "name", "missing"),
    (second_window('name = "Day"', 'name = ""'), "window 2", "name", "1 to 64"),
    (second_window('name = "Day"', 'name = "   "'), "window 2", "name", "not blank"),
    (second_window('name = "Day"', f'name = "{"x" * 65}"'), "window 2", "name", "1 to 64"),
    (second_window('name = "Day"', "name = 7"), "window 2", "name", "not text"),
    (second_window('name = "Day"', 'name = "Day\\nNight"'), "window 2", "name", "control character"),
    (second_window('days = ["mon", "tue"]', "days = []"), DAY, "days", "at least one day"),
    (second_window('days = ["mon", "tue"]', 'days = "mon"'), DAY, "days", "list of days"),
    (second_window('days = ["mon", "tue"]', 'days = ["mon", "Tue"]'), DAY, "days", 'unknown day "Tue"'),
    (second_window('days = ["mon", "tue"]', 'days = ["mon", "funday"]'), DAY, "days", "mon, tue, wed"),
    (second_window('days = ["mon", "tue"]', 'days = ["mon", "tue", "mon"]'), DAY, "days", '"mon" is repeated'),
    (second_window('start = "22:00"', 'start = "24:00"'), DAY, "start", '"HH:MM"'),
    (second_window('start = "22:00"', 'start = "7:00"'), DAY, "start", '"HH:MM"'),
    (second_window('end = "07:00"', 'end = "07:60"'), DAY, "end", '"HH:MM"'),
    (second_window('end = "07:00"', 'end = "07:00:00"'), DAY, "end", '"HH:MM"'),
    (second_window('end = "07:00"', "end = 07:00:00"), DAY, "end", "in quotes"),
    (second_window('state = "muted"', 'state = "off"'), DAY, "state", 'write "muted" or "live"'),
    (second_window('state = "muted"', 'state = "live"\nlocked = true'), DAY, "locked", "only a muted entry"),
    (second_window('state = "muted"', 'state = "muted"\nlocked = "yes"'), DAY, "locked", "true or false"),
    (second_window('state = "muted"', 'state = "muted"\nenabled = 1'), DAY, "enabled", "true or false"),
    # exceptions
    (christmas('to = "2026-12-26"', 'to = "2026-12-23"'), XM, "from", "from <= to"),
    (christmas('from = "2026-12-24"', 'from = "2026-12-32"'), XM, "from", '"YYYY-MM-DD"'),
    (christmas('from = "2026-12-24"', 'from = "24/12/2026"'), XM, "from", '"YYYY-MM-DD"'),
    (christmas('to = "2026-12-26"', "to = 2026-12-26"), XM, "to", "in quotes"),
    (christmas('to = "2026-12-26"\n', ""), XM, "to", "missing"),
    (christmas('state = "muted"', 'state = "live"\nlocked = true'), XM, "locked", "only a muted entry"),
    (christmas('state = "muted"', 'state = "muted"\ndays = ["mon"]'), XM, "days", "unknown key"),
    (christmas('state = "muted"', 'state = "sleep"'), XM, "state", 'write "muted" or "live"'),
]


@pytest.mark.parametrize("text, entry, field, says", CASES)
def test_invalid_schedule_file_names_entry_and_field(config_file, text, entry, field, says):
    path = config_file(text, name="schedule.toml")
    with pytest.raises(ScheduleError) as info:
        loads(path.read_text(encoding="utf-8"))
    error = info.value
    assert (error.entry, error.field) == (entry, field)
    message = str(error)
    assert says in message
    assert message.startswith(f"{entry}, {field}: " if entry else f"{field}: ")
    assert "\n" not in message


def test_the_valid_base_document_is_valid():
    # Every case above is one edit away from this document, so each failure is caused by its edit.
    schedule = loads(VALID)
    assert [w.name for w in schedule.windows] == ["Night", "Day"]
    assert schedule.exceptions[0].name == "Christmas"


def test_default_is_optional_and_live_and_locked_false_is_allowed_on_live_entries():
    assert loads('timezone = "UTC"\n').default == "live"
    live = NIGHT.replace('state = "muted"', 'state = "live"\nlocked = false')
    assert loads(HEAD + live).windows[0].locked is False


def test_toml_syntax_error_names_the_line():
    with pytest.raises(ScheduleError, match=r"not valid TOML.*line 3"):
        loads('timezone = "UTC"\n\n[[window]\n')


@pytest.mark.parametrize("document", [[], "timezone", None])
def test_a_document_that_is_not_a_table_is_refused(document):
    with pytest.raises(ScheduleError, match="must be a table"):
        parse(document)


def test_empty_builds_a_valid_schedule_and_refuses_bad_arguments():
    assert empty().timezone == "UTC" and empty().default == "live" and empty().windows == ()
    assert empty("Europe/London", "muted").default == "muted"
    with pytest.raises(ScheduleError, match="unknown zone"):
        empty("Mars/Olympus")
    with pytest.raises(ScheduleError, match="default"):
        empty("UTC", "quiet")


def test_schedule_error_is_a_mickill_error():
    assert issubclass(ScheduleError, MickillError)
