"""`mickill audio devices` and the checks on `mickill audio detect`'s options."""

import subprocess
import sys

import pytest

from test_audio_alsa import alsa_home


def mickill(*args, env=None):
    return subprocess.run([sys.executable, "-m", "mickill.cli.main", "audio", *args],
                          capture_output=True, text=True, env=env, timeout=60)


def test_devices_lists_what_portaudio_finds(tmp_path):
    result = mickill("devices", env=alsa_home(tmp_path))
    assert result.returncode == 0
    assert "default" in result.stdout and "16000" in result.stdout


@pytest.mark.parametrize("value", ["nan", "inf", "1", "41", "loud"])
def test_a_threshold_out_of_range_is_bad_input(tmp_path, value):
    result = mickill("detect", str(tmp_path / "x.wav"), "--threshold-db", value)
    assert result.returncode == 2 and "3 to 40" in result.stderr and "Traceback" not in result.stderr
