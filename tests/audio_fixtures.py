"""Test audio made on the spot: knocks, claps, noise, music-like tones and espeak-ng speech.

Everything is float64 in [-1, 1] at 16 kHz unless said otherwise; `to_int16` for files.
"""

import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

RATE = 16000


def rms(x) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def db(ratio: float) -> float:
    return 20 * np.log10(ratio)


def to_int16(x) -> np.ndarray:
    return np.clip(np.round(np.asarray(x) * 32767), -32768, 32767).astype("<i2")


def write_wav(path: Path, x, rate: int = RATE, channels: int = 1):
    data = to_int16(x)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(data.tobytes())
    return path


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as src:
        return np.frombuffer(src.readframes(src.getnframes()), "<i2").astype(np.float64) / 32768


def knock_body(rng) -> dict:
    """What makes one knuckle on one table sound as it does: two resonances and their decay."""
    return {"f1": rng.uniform(150, 450), "f2": rng.uniform(500, 1200), "tau": rng.uniform(0.012, 0.035),
            "phase": rng.uniform(0, 6.3), "attack": rng.uniform(0.0002, 0.001)}


def again(rng, body: dict, spread: float = 0.02) -> dict:
    """The same gesture repeated: a slightly different spot and force, the same table."""
    out = dict(body)
    for key in ("f1", "f2", "fc"):
        if key in out:
            out[key] = body[key] * (1 + rng.uniform(-spread, spread))
    for key in ("tau", "attack"):
        if key in out:
            out[key] = body[key] * (1 + rng.uniform(-5 * spread, 5 * spread))
    if "phase" in out:
        out["phase"] = body["phase"] + rng.uniform(-0.3, 0.3)
    return out


def knock(rng, rate=RATE, body: dict | None = None) -> np.ndarray:
    """A knuckle on a table: a sharp attack into a damped low-mid resonance (unit peak)."""
    b = body or knock_body(rng)
    n = int(0.25 * rate)
    t = np.arange(n) / rate
    sines = np.sin(2 * np.pi * b["f1"] * t + b["phase"]) + 0.5 * np.sin(2 * np.pi * b["f2"] * t)
    click = rng.normal(0, 1, n) * np.exp(-t / 0.002)
    x = (sines * np.exp(-t / b["tau"]) + 0.6 * click) * (1 - np.exp(-t / b["attack"]))
    return x / np.max(np.abs(x))


def clap_hands(rng) -> dict:
    """What makes one pair of hands clap as it does: the cupped palms' resonance and decay."""
    return {"fc": rng.uniform(700, 2500), "bw": rng.uniform(200, 600), "tau": rng.uniform(0.006, 0.02)}


def clap(rng, rate=RATE, hands: dict | None = None) -> np.ndarray:
    """Two hands: a short noise burst shaped by the palms' air cavity, with a fast decay (unit peak)."""
    h = hands or clap_hands(rng)
    n = int(0.15 * rate)
    t = np.arange(n) / rate
    f = np.fft.rfftfreq(n, 1 / rate)
    shape = 0.25 + 1 / np.sqrt(1 + ((f - h["fc"]) / h["bw"]) ** 2)
    burst = np.fft.irfft(np.fft.rfft(rng.normal(0, 1, n)) * shape, n)
    x = burst * np.exp(-t / h["tau"]) * (1 - np.exp(-t / 0.0008))
    return x / np.max(np.abs(x))


def noise(rng, seconds: float, kind: str = "pink", rate=RATE) -> np.ndarray:
    """Background noise with unit RMS: white, pink (1/f) or brown (1/f^2)."""
    n = int(seconds * rate)
    spectrum = np.fft.rfft(rng.normal(0, 1, n))
    f = np.fft.rfftfreq(n, 1 / rate)
    f[0] = f[1]
    spectrum *= {"white": 1.0, "pink": 1 / np.sqrt(f), "brown": 1 / f}[kind]
    x = np.fft.irfft(spectrum, n)
    return x / rms(x)


def place(background: np.ndarray, sound: np.ndarray, at_s: float, peak_db_over: float,
          reference: float | None = None, rate=RATE) -> np.ndarray:
    """Add `sound` at `at_s`, scaled so its first 10 ms RMS is `peak_db_over` dB above
    `reference` (default: the background's RMS; the "level above background" of the benchmarks)."""
    start = int(at_s * rate)
    head = rms(sound[: int(0.01 * rate)])
    scale = (reference or rms(background)) * 10 ** (peak_db_over / 20) / head
    end = min(len(background), start + len(sound))
    background[start:end] += sound[: end - start] * scale
    return background


def double_knock(rng, seconds=4.0, gap=0.4, level_db=20.0, at=2.0, kind="knock",
                 background="pink", bg_dbfs=-50.0):
    """Background noise with two impulses `gap` s apart; returns (audio, second onset).
    Both are one gesture repeated (same table or hands, slightly varied), each at `level_db`
    +-1.5 dB over the background in the sense of `place`."""
    x = noise(rng, seconds, background) * 10 ** (bg_dbfs / 20)
    reference = rms(x)
    if kind == "knock":
        body = knock_body(rng)
        sounds = [knock(rng, body=again(rng, body)) for _ in range(2)]
    else:
        hands = clap_hands(rng)
        sounds = [clap(rng, hands=again(rng, hands)) for _ in range(2)]
    place(x, sounds[0], at, level_db + rng.uniform(-1.5, 1.5), reference)
    place(x, sounds[1], at + gap, level_db + rng.uniform(-1.5, 1.5), reference)
    return x, at + gap


def pluck(rng, freq, seconds, rate=RATE) -> np.ndarray:
    """A plucked string (Karplus-Strong): a sharp attack and a long ringing decay."""
    period = max(2, int(rate / freq))
    buf = rng.uniform(-1, 1, period)
    out = np.empty(int(seconds * rate))
    for i in range(0, len(out), period):
        chunk = out[i:i + period]
        chunk[:] = buf[: len(chunk)]
        buf = 0.996 * 0.5 * (buf + np.roll(buf, -1))
    return out / np.max(np.abs(out))


def music(rng, seconds, rate=RATE) -> np.ndarray:
    """Music-like audio: chords with soft envelopes, plucked notes and a drum loop (unit RMS)."""
    n = int(seconds * rate)
    out = np.zeros(n)
    t = np.arange(n) / rate
    beat = rng.uniform(0.4, 0.7)
    # chords that change every bar
    for start in np.arange(0, seconds, 4 * beat):
        root = 110 * 2 ** (rng.integers(0, 12) / 12)
        i0, i1 = int(start * rate), min(n, int((start + 4 * beat) * rate))
        seg = t[i0:i1] - start
        env = np.minimum(1, seg / 0.05) * np.exp(-seg / 2)
        for ratio in (1, 1.26, 1.5, 2):
            out[i0:i1] += 0.2 * env * np.sin(2 * np.pi * root * ratio * seg)
    # plucked melody notes
    for start in np.arange(0, seconds, beat * rng.choice([0.5, 1])):
        if rng.random() < 0.7:
            note = pluck(rng, 220 * 2 ** (rng.integers(0, 24) / 12), 1.0)
            i0 = int(start * rate)
            out[i0:i0 + len(note)] += 0.5 * note[: n - i0]
    # drums: kick on beats, hats on off-beats, sometimes a gap
    for k, start in enumerate(np.arange(0, seconds, beat)):
        i0 = int(start * rate)
        if rng.random() < 0.8:
            m = min(int(0.3 * rate), n - i0)
            s = np.arange(m) / rate
            out[i0:i0 + m] += 0.8 * np.sin(2 * np.pi * (50 + 100 * np.exp(-s / 0.03)) * s) * np.exp(-s / 0.08)
        h0 = i0 + int(beat * rate / 2)
        if h0 < n and rng.random() < 0.7:
            m = min(int(0.05 * rate), n - h0)
            out[h0:h0 + m] += 0.3 * rng.normal(0, 1, m) * np.exp(-np.arange(m) / rate / 0.01)
    return out / rms(out)


def thud(rng, freq, tau, attack_s, rate=RATE) -> np.ndarray:
    """A soft low thump (a footstep, a door's slam, a bag put down): unit peak."""
    n = int(min(0.5, 6 * tau + attack_s) * rate)
    t = np.arange(n) / rate
    x = np.sin(2 * np.pi * freq * t) * np.exp(-t / tau) * (1 - np.exp(-t / attack_s))
    x += 0.1 * rng.normal(0, 1, n) * np.exp(-t / tau)
    return x / np.max(np.abs(x))


def clink(rng, rate=RATE) -> np.ndarray:
    """A dish, glass or spoon: a few inharmonic high partials ringing on (unit peak)."""
    n = int(0.6 * rate)
    t = np.arange(n) / rate
    x = sum(np.sin(2 * np.pi * rng.uniform(1200, 5000) * t + rng.uniform(0, 6.3))
            * np.exp(-t / rng.uniform(0.03, 0.3)) for _ in range(rng.integers(2, 5)))
    x = x + 0.5 * rng.normal(0, 1, n) * np.exp(-t / 0.001)
    return x / np.max(np.abs(x))


def typing_click(rng, rate=RATE) -> np.ndarray:
    """One key struck: a clink's first 20 ms, dying within a few ms (unit peak)."""
    n = int(0.02 * rate)
    return clink(rng)[:n] * np.exp(-np.arange(n) / rate / 0.004)


def household_impulse(rng) -> np.ndarray:
    """Any one of the home's sharp sounds, each from a different object or hand."""
    pick = rng.random()
    if pick < 0.35:
        return knock(rng)
    if pick < 0.55:
        return clap(rng)
    if pick < 0.8:
        return clink(rng)
    return thud(rng, rng.uniform(50, 160), rng.uniform(0.02, 0.08), rng.uniform(0.001, 0.01))


def clatter(rng, seconds, background_dbfs=-50.0, rate=RATE) -> np.ndarray:
    """Household noise over brown noise: lone thumps; irregular clatter of two to eight unlike
    impulses at random spacing (a lone pair 150-700 ms apart included: only the sounds themselves
    tell it from a knock); walks of footsteps; door slams with a rattle; bursts of typing.
    Levels are 10-40 dB over the background in the sense of `place`."""
    x = noise(rng, seconds, "brown") * 10 ** (background_dbfs / 20)
    reference = rms(x)
    at = rng.uniform(0.5, 3)
    while at < seconds - 8:
        scene = rng.random()
        if scene < 0.2:                          # one thump or clink
            place(x, household_impulse(rng), at, rng.uniform(10, 40), reference)
        elif scene < 0.6:                        # clatter: unlike impulses, random spacing
            for _ in range(rng.integers(2, 9)):
                place(x, household_impulse(rng), at, rng.uniform(10, 40), reference)
                at += rng.uniform(0.05, 0.8)
        elif scene < 0.75:                       # someone walks past: two feet, alike but not the same
            feet = [(rng.uniform(60, 150), rng.uniform(0.03, 0.06), rng.uniform(0.004, 0.02)) for _ in range(2)]
            level, pace = rng.uniform(10, 30), rng.uniform(0.45, 0.65)
            for step in range(rng.integers(3, 13)):
                f, tau, attack = feet[step % 2]
                place(x, thud(rng, f * rng.uniform(0.95, 1.05), tau, attack), at, level + rng.uniform(-3, 3),
                      reference)
                at += pace * rng.uniform(0.9, 1.1)
        elif scene < 0.85:                       # a door: the slam, then its latch and frame rattle
            place(x, thud(rng, rng.uniform(40, 90), rng.uniform(0.05, 0.12), rng.uniform(0.002, 0.01)),
                  at, rng.uniform(20, 40), reference)
            for _ in range(rng.integers(1, 4)):
                at += rng.uniform(0.05, 0.3)
                place(x, clink(rng) if rng.random() < 0.5 else knock(rng), at, rng.uniform(10, 30), reference)
        else:                                    # typing: small clicks, irregular
            level = rng.uniform(10, 25)
            for _ in range(rng.integers(5, 40)):
                place(x, typing_click(rng, rate), at, level + rng.uniform(-4, 4), reference)
                at += rng.uniform(0.08, 0.35)
        at += rng.uniform(1.5, 8)
    return x


SENTENCES = [
    "Could you turn the lights down in the kitchen please",
    "What is the weather going to be like tomorrow morning",
    "Put on some music, something quiet for dinner",
    "Tick tock, the clock struck two, and the cat sat back",
    "Pick up the kit, tap the top, and pack the bag",
    "I told you, it is not the time to talk about that",
]
VOICES = ["en-us", "en-gb", "en-gb-scotland", "en-029", "en-us+f3", "en-gb+m4"]


def speech(text: str, voice: str = "en-us", speed: int = 160) -> np.ndarray:
    """Speech from espeak-ng, resampled to 16 kHz by sox, unit RMS."""
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = Path(tmp) / "raw.wav", Path(tmp) / "out.wav"
        subprocess.run(["espeak-ng", "-w", str(raw), "-s", str(speed), "-v", voice, text], check=True)
        subprocess.run(["sox", str(raw), "-r", str(RATE), "-c", "1", str(out)], check=True)
        x = read_wav(out)
    return x / rms(x)


def speech_track(rng, seconds, rate=RATE) -> np.ndarray:
    """Sentences in several voices and speeds with natural pauses, unit RMS while talking."""
    parts, total = [], 0
    while total < seconds * rate:
        s = speech(SENTENCES[rng.integers(len(SENTENCES))], VOICES[rng.integers(len(VOICES))],
                   int(rng.integers(120, 230)))
        pause = np.zeros(int(rng.uniform(0.2, 2.5) * rate))
        parts += [s, pause]
        total += len(s) + len(pause)
    return np.concatenate(parts)[: int(seconds * rate)]


def stream(detector, x, chunk_s=0.02, rate=RATE):
    """Feed `x` in live-sized chunks; return [(detection, audio position when emitted)]."""
    chunk = int(chunk_s * rate)
    found = []
    for i in range(0, len(x), chunk):
        for d in detector.feed(to_int16(x[i:i + chunk])):
            found.append((d, (i + min(chunk, len(x) - i)) / rate))
    return found
