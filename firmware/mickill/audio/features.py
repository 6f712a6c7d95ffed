"""What the knock detector measures in audio: band levels per 5 ms frame, an impulse's onset to
the sample, and its spectral signature (so two knocks can be compared). Pure numpy."""

import numpy as np

HOP_S = 0.005              # analysis frame step: 5 ms, fine enough to time an onset
WINDOW = 256               # samples per band analysis at 16 kHz (16 ms): 62.5 Hz bins
# band edges in 16 kHz / 256-point bins (125 Hz up): a quiet low knock under hiss, or a clap
# under rumble, still stands out in its own band where a broadband level would hide it
BAND_EDGES_HZ = (125, 250, 440, 700, 1000, 1500, 2500, 4000, 6250, 8000)
SIGNATURE_N = 1024         # samples (64 ms at 16 kHz) of an impulse compared with its twin
SIGNATURE_HZ = (40, 6000)  # from 40 Hz, so thuds of unlike feet or doors differ in their low body
SIGNATURE_SMOOTH = 5       # bins: a clap's noise excitation is random; its cavity shape is not
PROFILE_HZ = 100           # third-octave envelopes from here: lower thirds hold a bin or two
CLICK_HZ = (1600, 2000)    # the click is measured above this ramp: a table's body rings below it
# a clap's cupped palms: its spectrum smoothed by a Gaussian a third of an octave wide (sigma;
# enough to average out the burst's randomness) on a twelfth-octave grid, where hands resonate
CAVITY_HZ = (400, 6000)
CAVITY_SMOOTH_OCT = 1 / 3


class BandAnalyzer:
    """Streaming: feed samples, get one row of band powers per hop (newest window ending at the
    hop's end), plus the per-bin powers for the noise spectrum."""

    def __init__(self, rate: int):
        scale = rate / 16000
        self.window_n = max(32, int(round(WINDOW * scale)))
        self.hop = max(1, round(rate * HOP_S))
        self.window = np.hanning(self.window_n).astype(np.float32)
        self.norm = float(np.sum(self.window.astype(np.float64) ** 2))
        freqs = np.fft.rfftfreq(self.window_n, 1 / rate)
        edges = [int(np.searchsorted(freqs, hz)) for hz in BAND_EDGES_HZ if hz <= rate / 2]
        self.starts = np.array(edges[:-1])
        self.lo, self.hi = edges[0], edges[-1]
        self._tail = np.zeros(self.window_n - self.hop, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self.rate = rate
        self.edges_hz = [float(freqs[i]) for i in edges[:-1]] + [rate / 2]

    @property
    def bands(self) -> int:
        return len(self.starts)

    def band_hz(self, band: int) -> tuple[float, float]:
        return self.edges_hz[band], self.edges_hz[band + 1]

    def feed(self, x: np.ndarray):
        """Returns (band powers [frames, bands], bin powers [frames, bins]) per unit of window."""
        data = np.concatenate((self._pending, x))
        frames = len(data) // self.hop
        self._pending = data[frames * self.hop:]
        if not frames:
            return np.zeros((0, self.bands)), np.zeros((0, self.window_n // 2 + 1))
        used = np.concatenate((self._tail, data[: frames * self.hop]))
        self._tail = used[len(used) - (self.window_n - self.hop):]
        view = np.lib.stride_tricks.sliding_window_view(used, self.window_n)[:: self.hop][:frames]
        # without its mean, a frame's slow drift (a microphone's DC, rumble) does not leak into
        # the lowest bins, where it would hide a thud's body from the signatures' noise reference
        view = view - view.mean(axis=1, keepdims=True)
        spectra = np.abs(np.fft.rfft(view * self.window, axis=1)) ** 2 / self.norm
        bands = np.add.reduceat(spectra[:, self.lo: self.hi], self.starts - self.lo, axis=1)
        return bands / np.diff(np.append(self.starts, self.hi)), spectra


def refine_onset(segment: np.ndarray, rate: int, band: tuple[float, float], noise_rms: float) -> int:
    """The index in `segment` where the impulse begins: where its energy in `band` first reaches
    a third of its peak (and clearly exceeds the noise in that band)."""
    n = len(segment)
    padded = 2 * n                 # no wrap-around: the impulse's ring must not leak to the start
    spectrum = np.fft.rfft(segment, padded)
    freqs = np.fft.rfftfreq(padded, 1 / rate)
    # soft octave-wide skirts: a brick-wall band would ring ahead of the onset
    octaves = np.log2(np.maximum(freqs, 1.0))
    below = np.clip(octaves - np.log2(band[0]) + 1, 0, 1)
    above = np.clip(np.log2(band[1]) + 1 - octaves, 0, 1)
    banded = np.fft.irfft(spectrum * np.sin(np.pi / 2 * below * above) ** 2, padded)[:n]
    smooth = max(1, rate // 1000)
    envelope = np.sqrt(np.convolve(banded ** 2, np.ones(smooth) / smooth, mode="same"))
    limit = max(0.33 * float(envelope.max()), 3.0 * noise_rms)
    above = np.flatnonzero(envelope >= limit)
    return int(above[0]) if above.size else 0


class Signature:
    """What two impulses of one gesture share: the fine spectrum (a table's resonances), the
    third-octave envelope (a clap's cupped palms)."""
    __slots__ = ("shape", "profile", "cavity")

    def __init__(self, shape, profile, cavity=None):
        self.shape, self.profile, self.cavity = shape, profile, cavity   # cavity: see `cavity`


def _cavity_weights(freqs: np.ndarray):
    """Gaussian weights in log frequency: rows are the grid's points, columns the bins."""
    inside = (freqs >= CAVITY_HZ[0]) & (freqs <= CAVITY_HZ[1])
    octave = np.log2(freqs[inside])
    grid = np.arange(np.log2(CAVITY_HZ[0]), np.log2(CAVITY_HZ[1]), 1 / 12)
    weights = np.exp(-0.5 * ((octave[None, :] - grid[:, None]) / CAVITY_SMOOTH_OCT) ** 2)
    return inside, weights / weights.sum(axis=1, keepdims=True)


_CAVITY = {}   # weights per segment length


def cavity(freqs: np.ndarray, excess_power: np.ndarray) -> np.ndarray:
    """The smoothed spectrum in dB from 400 Hz to 6 kHz: where a clap's cupped palms resonate,
    which one pair of hands repeats and the burst's randomness does not hide."""
    if len(freqs) not in _CAVITY:
        _CAVITY[len(freqs)] = _cavity_weights(freqs)
    inside, weights = _CAVITY[len(freqs)]
    smooth = weights @ excess_power[inside]
    return 10 * np.log10(np.maximum(smooth, max(float(smooth.max()), 1e-30) * 1e-3))


def cavity_difference(a: Signature | None, b: Signature | None) -> float:
    """How far apart two claps' cavities are: the RMS difference of their smoothed spectra in dB,
    their overall levels removed."""
    if a is None or b is None or a.cavity is None or b.cavity is None or a.cavity.shape != b.cavity.shape:
        return float("inf")
    d = (a.cavity - a.cavity.mean()) - (b.cavity - b.cavity.mean())
    return float(np.sqrt(np.mean(d ** 2)))


def frame_power(x: np.ndarray) -> np.ndarray:
    """Per-bin power of one frame, scaled as BandAnalyzer scales its frames."""
    window = np.hanning(len(x))
    x = x - x.mean()
    return np.abs(np.fft.rfft(x * window)) ** 2 / float(np.sum(window ** 2))


def signature(segment: np.ndarray, rate: int, noise_psd: np.ndarray,
              before: np.ndarray | None = None) -> Signature | None:
    """The impulse's spectrum above the noise and above `before` (the per-bin power just ahead
    of its onset, so the ring of a sound just before is not counted as its own); None if nothing
    stands above them. `noise_psd` and `before` are per bin of a BandAnalyzer frame."""
    n = len(segment)
    taper = np.cos(np.linspace(0, np.pi / 2, n)) ** 2          # keep the attack, fade the ring
    segment = segment - np.polyval(np.polyfit(np.arange(n), segment, 1), np.arange(n))   # drift
    power = np.abs(np.fft.rfft(segment * taper)) ** 2 / np.sum(taper ** 2)
    freqs = np.fft.rfftfreq(n, 1 / rate)
    reference = noise_psd if before is None else np.maximum(noise_psd, before)
    noise = np.interp(freqs, np.linspace(0, rate / 2, len(reference)), reference)
    excess_power = np.maximum(power - 1.5 * noise, 0.0)
    keep = (freqs >= SIGNATURE_HZ[0]) & (freqs <= SIGNATURE_HZ[1])
    amplitude = np.sqrt(excess_power)
    shape = np.convolve(amplitude, np.ones(SIGNATURE_SMOOTH) / SIGNATURE_SMOOTH, mode="same")[keep]
    length = float(np.linalg.norm(shape))
    if length <= 0:
        return None
    thirds_from = freqs[keep] >= PROFILE_HZ
    band = np.floor(3 * np.log2(freqs[keep][thirds_from] / PROFILE_HZ)).astype(int)
    thirds = np.bincount(band, weights=excess_power[keep][thirds_from])
    profile = 10 * np.log10(np.maximum(thirds, thirds.max() * 1e-3))
    return Signature(shape / length, profile, cavity(freqs, excess_power))


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation: a flat part both share (a click, a noise floor) does not count."""
    a, b = a - a.mean(), b - b.mean()
    return float(np.dot(a, b) / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-12))


def likeness(a: Signature | None, b: Signature | None, noisy: bool = False) -> tuple[float, float]:
    """How alike two impulses are, (fine, envelope), each at most 1 (the same sound twice): the
    fine spectra's and the third-octave envelopes' correlations, so a flat part both share (a
    click, a noise floor) does not count. `noisy` (claps): cosines instead, since a noise burst's
    fine detail differs even from the same hands and only its overall shape repeats."""
    if a is None or b is None or a.shape.shape != b.shape.shape:
        return 0.0, 0.0
    if noisy:
        pa, pb = 10 ** (a.profile / 20), 10 ** (b.profile / 20)
        fine = float(np.dot(a.shape, b.shape))
        envelope = float(np.dot(pa, pb) / max(float(np.linalg.norm(pa) * np.linalg.norm(pb)), 1e-12))
    else:
        fine, envelope = _correlation(a.shape, b.shape), _correlation(a.profile, b.profile)
    return fine, envelope


def click_contrast(around: np.ndarray, rate: int, onset: int) -> tuple[float, float]:
    """A knuckle's click: (the power above 2 kHz in the first ~4 ms from `onset` against the
    larger of that power before the onset and 10-30 ms after it, in dB; the full-band power of
    the first 10 ms against the power above 2 kHz before the onset, in dB: how loud a click
    could show). `around` needs 24 ms before `onset` and 30 ms after."""
    ms = rate / 1000
    n = len(around)
    spectrum = np.fft.rfft(around, 2 * n)
    freqs = np.fft.rfftfreq(2 * n, 1 / rate)
    ramp = np.clip((freqs - CLICK_HZ[0]) / (CLICK_HZ[1] - CLICK_HZ[0]), 0, 1)
    high = np.fft.irfft(spectrum * np.sin(np.pi / 2 * ramp) ** 2, 2 * n)[:n] ** 2

    def mean(x, start_ms, stop_ms):
        return float(np.mean(x[int(onset + start_ms * ms): int(onset + stop_ms * ms)])) + 1e-30

    click = mean(high, -1.5, 4)
    before = mean(high, -24, -4)
    contrast = 10 * np.log10(click / max(before, mean(high, 10, 30)))
    body = 10 * np.log10(mean(around ** 2, 0, 10) / before)
    return contrast, body


def high_share(sig: Signature | None, above_hz: float = 1000.0) -> float:
    """The share of a signature's energy above `above_hz`."""
    if sig is None:
        return 0.0
    shape = sig.shape
    spacing = 16000 / SIGNATURE_N     # signature segments scale with the rate: fixed bin spacing
    freqs = (np.ceil(SIGNATURE_HZ[0] / spacing) + np.arange(len(shape))) * spacing
    return float(np.sum(shape[freqs > above_hz] ** 2))


def ring_time(around: np.ndarray, rate: int, onset: int, noise_power: float, above_hz: float = 100.0,
              span_s: float = 0.05) -> float:
    """How long an impulse rings, whatever its loudness: the mean time, weighted by power above
    `noise_power` (per sample, above `above_hz`), of its first `span_s` after `onset` (an
    exponential ring of amplitude time constant tau gives about tau / 2). Power above `above_hz`
    only, so slow drift and rumble do not count. `around` needs `span_s` after `onset`."""
    n = len(around)
    spectrum = np.fft.rfft(around, 2 * n)
    freqs = np.fft.rfftfreq(2 * n, 1 / rate)
    power = np.fft.irfft(spectrum * (freqs >= above_hz), 2 * n)[:n] ** 2
    excess = np.maximum(power[onset: onset + int(span_s * rate)] - noise_power, 0.0)
    total = float(np.sum(excess))
    return float(np.sum(np.arange(len(excess)) * excess) / total / rate) if total > 0 else span_s
