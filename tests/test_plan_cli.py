"""`mickill plan` as a real subprocess: JSON lines, the table, and one-line errors with status 2."""

import json
import subprocess
import sys

import pytest

SCHEDULE = """\
timezone = "Europe/London"
default = "live"

[[window]]
name = "Night"
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "22:00"
end = "07:00"
state = "muted"
locked = true

[[exception]]
name = "Quiet weekend"
from = "2027-03-27"
to = "2027-03-28"
state = "muted"
"""


def mickill(*args):
    return subprocess.run(
        [sys.executable, "-m", "mickill.cli.main", *map(str, args)], capture_output=True, text=True, timeout=30
    )


@pytest.fixture
def schedule_file(config_file):
    return config_file(SCHEDULE, name="schedule.toml")


def test_json_lines_across_spring_forward(schedule_file):
    result = mickill("plan", "--schedule", schedule_file, "--from", "2027-03-26T12:00", "--to", "2027-03-29T12:00", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        '{"at": "2027-03-26T12:00:00+00:00", "state": "live", "locked": false}',
        '{"at": "2027-03-26T22:00:00+00:00", "state": "muted", "locked": true}',
        '{"at": "2027-03-27T07:00:00+00:00", "state": "muted", "locked": false}',
        '{"at": "2027-03-27T22:00:00+00:00", "state": "muted", "locked": true}',
        '{"at": "2027-03-28T07:00:00+01:00", "state": "muted", "locked": false}',
        '{"at": "2027-03-28T22:00:00+01:00", "state": "muted", "locked": true}',
        '{"at": "2027-03-29T07:00:00+01:00", "state": "live", "locked": false}',
    ]
    assert result.stderr == ""


def test_offsets_in_arguments_are_honoured(schedule_file):
    # 06:30 UTC is 07:30 BST: after Night has closed on the 28th.
    result = mickill("plan", "--schedule", schedule_file, "--from", "2027-03-29T06:30Z", "--to", "2027-03-29T08:00+01:00", "--json")
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"at": "2027-03-29T07:30:00+01:00", "state": "live", "locked": False}
    ]


def test_table_shows_local_time_with_offset_state_and_lock(schedule_file):
    result = mickill("plan", "--schedule", schedule_file, "--from", "2027-03-28T06:00", "--to", "2027-03-29T08:00")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert rows == [
        ["2027-03-28", "Sun", "06:00:00", "+01:00", "muted", "yes"],
        ["2027-03-28", "Sun", "07:00:00", "+01:00", "muted", "no"],
        ["2027-03-28", "Sun", "22:00:00", "+01:00", "muted", "yes"],
        ["2027-03-29", "Mon", "07:00:00", "+01:00", "live", "no"],
    ]
    assert "Europe/London" in result.stdout.splitlines()[0]


def bad_cases(tmp_path, schedule_file):
    broken = tmp_path / "broken.toml"
    broken.write_text(SCHEDULE.replace('start = "22:00"', 'start = "10pm"'), encoding="utf-8")
    garbled = tmp_path / "garbled.toml"
    garbled.write_text("timezone = \n", encoding="utf-8")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    good = ["--from", "2027-03-28", "--to", "2027-03-29"]
    return [
        (["--schedule", broken, *good], 'window 1 ("Night"), start'),
        (["--schedule", garbled, *good], "not valid TOML"),
        (["--schedule", binary, *good], "not UTF-8"),
        (["--schedule", tmp_path / "missing.toml", *good], "cannot read the schedule file"),
        (["--schedule", tmp_path, *good], "cannot read the schedule file"),
        (["--schedule", schedule_file, "--from", "someday", "--to", "2027-03-29"], '"someday" is not an ISO 8601'),
        (["--schedule", schedule_file, "--from", "2027-03-29", "--to", "2027-03-28"], "is not after --from"),
        (["--schedule", schedule_file, "--from", "2027-03-29", "--to", "2027-03-29"], "is not after --from"),
        (["--schedule", schedule_file, "--from", "2027-03-29"], "--to"),
    ]


def test_bad_input_exits_2_with_one_line_and_no_traceback(tmp_path, schedule_file):
    for args, says in bad_cases(tmp_path, schedule_file):
        result = mickill("plan", *args)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stdout == ""
        assert len(result.stderr.splitlines()) == 1, result.stderr
        assert result.stderr.startswith("mickill: ") and says in result.stderr
        assert "Traceback" not in result.stderr


def test_to_after_from_is_judged_in_real_time_not_wall_time(schedule_file):
    # In the repeated hour, 01:10 GMT comes after 01:50 BST although its wall time is earlier.
    result = mickill("plan", "--schedule", schedule_file, "--from", "2027-10-31T01:50+01:00", "--to", "2027-10-31T01:10+00:00", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[0])["at"] == "2027-10-31T01:50:00+01:00"
