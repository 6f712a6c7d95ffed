"""The [audio] section's validation, the masker's level, band and fades, and `mickill audio detect`."""

import json
import subprocess
import sys

import numpy as np
import pytest

from audio_fixtures import RATE, double_knock, write_wav
from mickill.audio.config import AudioConfig, parse
from mickill.audio.masking import Masker
from mickill.errors import ConfigError


def test_defaults_and_a_full_section():
    assert parse(None) == (AudioConfig(), [])
    config, _ = parse({"enabled": True, "input_device": "USB", "window_s": 30, "gap_min_ms": 200,
                       "gap_max_ms": 600, "threshold_db": 10, "phrase": " Open Up ", "masking": True,
                       "masking_level_db": -35, "chime": True}, wiring="mic")
    assert config.window_s == 30 and config.phrase == "open up" and config.input_device == "USB"


@pytest.mark.parametrize("section, key", [
    ({"colour": 1}, "audio.colour"), ({"enabled": "yes"}, "audio.enabled"), ({"window_s": 4}, "audio.window_s"),
    ({"window_s": 121}, "audio.window_s"), ({"window_s": 20.5}, "audio.window_s"),
    ({"sample_rate": 12345}, "audio.sample_rate"), ({"gap_min_ms": 700, "gap_max_ms": 300}, "audio.gap_min_ms"),
    ({"masking_level_db": 0}, "audio.masking_level_db"), ({"phrase": ""}, "audio.phrase"),
    ({"input_device": True}, "audio.input_device")])
def test_bad_values_name_the_key(section, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse(section)


def test_power_wiring_turns_the_gate_off_with_a_warning_unless_asked_for():
    config, warnings = parse({"enabled": True}, wiring="power")
    assert not config.gate and "boot time" in warnings[0]
    config, warnings = parse({"enabled": True, "gate": True}, wiring="power")
    assert config.gate and "boot time" in warnings[0]


@pytest.mark.parametrize("level", [-40.0, -20.0])
def test_masker_level_band_and_click_free_fades(level):
    masker = Masker(RATE, level, seed=1)
    assert not masker.next_block(320).any()            # silent until asked
    masker.set_on(True)
    on = np.concatenate([masker.next_block(320) for _ in range(100)]).astype(float)
    masker.set_on(False)
    off = np.concatenate([masker.next_block(320) for _ in range(20)]).astype(float)
    steady = on[RATE // 4:]
    assert abs(20 * np.log10(np.sqrt(np.mean(steady ** 2)) / 32767) - level) < 1.0
    spectrum = np.abs(np.fft.rfft(steady)) ** 2
    f = np.fft.rfftfreq(len(steady), 1 / RATE)
    assert spectrum[(f >= 300) & (f <= 4000)].sum() / spectrum.sum() > 0.9
    typical = np.percentile(np.abs(np.diff(steady)), 99)
    whole = np.concatenate(([0.0], on, off))
    assert np.abs(np.diff(whole[:160])).max() < 0.1 * typical       # no click at the start
    stop = np.flatnonzero(off)[-1]
    assert np.abs(np.diff(off[stop - 160: stop + 2])).max() < 0.1 * typical
    assert not off[stop + 1:].any() and masker.silent


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "mickill.cli.main", "audio", *args],
                          capture_output=True, text=True, timeout=60)


def test_detect_prints_json_lines_rounded_to_the_millisecond(tmp_path):
    x, second = double_knock(np.random.default_rng(2), seconds=5, gap=0.35, level_db=20)
    result = run_cli("detect", str(write_wav(tmp_path / "k.wav", x)), "--json")
    assert result.returncode == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 1 and lines[0]["kind"] == "knock" and abs(lines[0]["t"] - second) < 0.01
    assert lines[0]["t"] == round(lines[0]["t"], 3)


def test_detect_refuses_a_file_that_is_not_a_wav_in_one_line(tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("hello")
    result = run_cli("detect", str(bad))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "notes.wav" in result.stderr
