"""The optional key phrase, spotted offline by pocketsphinx in real synthesized speech."""

import shutil
import subprocess
import wave

import numpy as np
import pytest

pytest.importorskip("pocketsphinx", reason="the key phrase is an extra: pip install 'mickill[phrase]'")

from mickill.audio.phrase import PhraseDetector  # noqa: E402
from mickill.errors import MickillError  # noqa: E402

pytestmark = pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")),
                                reason="needs espeak-ng and sox (Debian packages)")


def speech(tmp_path, text: str, speed: int = 150, voice: str = "en") -> np.ndarray:
    """16 kHz mono int16 speech of `text`, with a second of silence either side."""
    raw, out = tmp_path / "raw.wav", tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out), "pad", "1", "1"], check=True)
    with wave.open(str(out)) as audio:
        return np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2")


def detections(detector: PhraseDetector, samples: np.ndarray) -> list:
    found = []
    for start in range(0, len(samples), 320):   # 20 ms blocks, as the live capture delivers them
        found += detector.feed(samples[start:start + 320])
    return found


@pytest.mark.parametrize("text, voice, speed", [
    ("hey speaker open up", "en", 150),
    ("hey speaker open up", "en-us", 180),
    ("open up", "en-us", 150),
    ("open up", "en+f3", 120),
])
def test_the_phrase_is_heard_in_speech(tmp_path, text, voice, speed):
    samples = speech(tmp_path, text, speed, voice)
    found = detections(PhraseDetector("open up"), samples)
    assert found and all(d.kind == "phrase" for d in found)
    assert 1.0 <= found[0].t <= len(samples) / 16000


@pytest.mark.parametrize("text", [
    "the weather will be cloudy tomorrow with a little rain in the evening",
    "I hope the party opens soon",
    "open the door and put it up there",
])
def test_other_speech_does_not_open(tmp_path, text):
    assert detections(PhraseDetector("open up"), speech(tmp_path, text)) == []


def test_the_phrase_needs_16_khz():
    with pytest.raises(MickillError, match="16000"):
        PhraseDetector("open up", sample_rate=48000)
