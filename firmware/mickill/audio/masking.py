"""The masking noise: speech-band noise (300-4000 Hz) at a set level, with click-free fades.

Pure and streaming: `Masker.next_block(n)` returns the next n int16 samples; `set_on(bool)`
starts a raised-cosine fade towards the new target from wherever the gain is now.
"""

import numpy as np

BAND_HZ = (300.0, 4000.0)
EDGE_HZ = 150.0           # raised-cosine band edges, so the shaping rings as little as possible
FADE_S = 0.2
FRAME = 512               # synthesis frame; frames overlap by half with sine windows


def band_shape(size: int, rate: int) -> np.ndarray:
    """The magnitude of the speech-band filter over rfft bins of a `size` frame."""
    f = np.fft.rfftfreq(size, 1 / rate)
    low, high = BAND_HZ
    shape = np.ones_like(f)
    shape[f < low - EDGE_HZ] = 0
    edge = (f >= low - EDGE_HZ) & (f < low)
    shape[edge] = 0.5 - 0.5 * np.cos(np.pi * (f[edge] - (low - EDGE_HZ)) / EDGE_HZ)
    shape[f > high + EDGE_HZ] = 0
    edge = (f > high) & (f <= high + EDGE_HZ)
    shape[edge] = 0.5 + 0.5 * np.cos(np.pi * (f[edge] - high) / EDGE_HZ)
    return shape


class Masker:
    def __init__(self, rate: int, level_dbfs: float, fade_s: float = FADE_S, seed: int | None = None):
        self.rate = rate
        self.level = 10 ** (level_dbfs / 20) * 32767
        self.fade = max(1, int(fade_s * rate))
        self._rng = np.random.default_rng(seed)
        self._shape = band_shape(2 * FRAME, rate)
        self._window = np.sin(np.pi * (np.arange(2 * FRAME) + 0.5) / (2 * FRAME))
        # white noise through the shape loses power; bring the band back to unit RMS
        self._norm = 1 / np.sqrt(np.mean(self._shape ** 2) * (2 * FRAME) / (2 * FRAME - 1))
        self._carry = np.zeros(FRAME)
        self._noise = np.zeros(0)
        self._gain = 0.0          # 0..1, where the fade is now
        self._from = 0.0
        self._target = 0.0
        self._pos = self.fade     # samples into the current fade

    @property
    def on(self) -> bool:
        return self._target == 1.0

    @property
    def silent(self) -> bool:
        return self._target == 0.0 and self._pos >= self.fade

    def set_on(self, on: bool):
        target = 1.0 if on else 0.0
        if target != self._target:
            self._from, self._target, self._pos = self._gain, target, 0

    def next_block(self, n: int) -> np.ndarray:
        if self.silent:
            self._gain = 0.0
            return np.zeros(n, dtype=np.int16)
        while len(self._noise) < n:
            self._noise = np.concatenate((self._noise, self._synthesise()))
        block, self._noise = self._noise[:n], self._noise[n:]
        steps = np.arange(self._pos, self._pos + n)
        progress = np.clip(steps / self.fade, 0, 1)
        ramp = 0.5 - 0.5 * np.cos(np.pi * progress)          # raised cosine: no corner, no click
        gains = self._from + (self._target - self._from) * ramp
        self._pos += n
        self._gain = float(gains[-1])
        return np.clip(np.round(block * gains * self.level), -32768, 32767).astype(np.int16)

    def _synthesise(self) -> np.ndarray:
        """FRAME new samples: shaped noise frames, sine-windowed, overlap-added (constant power)."""
        spectrum = np.fft.rfft(self._rng.normal(0, 1, 2 * FRAME)) * self._shape
        frame = np.fft.irfft(spectrum, 2 * FRAME) * self._window * self._norm
        out = self._carry + frame[:FRAME]
        self._carry = frame[FRAME:]
        return out


def chime(rate: int, opening: bool, level_dbfs: float = -20.0) -> np.ndarray:
    """A short two-note chime (rising on open, falling on close), faded in and out."""
    notes = (660.0, 880.0) if opening else (880.0, 660.0)
    length = int(0.12 * rate)
    t = np.arange(length) / rate
    envelope = np.sin(np.pi * np.arange(length) / length) ** 2
    tone = np.concatenate([np.sin(2 * np.pi * f * t) * envelope for f in notes])
    return np.round(tone * 10 ** (level_dbfs / 20) * 32767).astype(np.int16)
