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


@pytest.mark.parametrize("lead_in_s", [0.3, 0.6, 1.5])
def test_detect_finds_knocks_soon_after_a_file_begins(tmp_path, lead_in_s):
    import json
    import wave

    import numpy as np

    from audio_fixtures import double_knock

    audio, second = double_knock(np.random.default_rng(5), seconds=lead_in_s + 1.5, gap=0.4,
                                 level_db=20.0, at=lead_in_s)
    path = tmp_path / "knocks.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    result = mickill("detect", str(path), "--json")
    found = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0 and len(found) == 1
    assert found[0]["kind"] == "knock" and abs(found[0]["t"] - second) < 0.01
