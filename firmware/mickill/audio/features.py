"""What the knock detector measures in audio: band levels per 5 ms frame, an impulse's onset to
the sample, and its spectral signature (so two knocks can be compared). Pure numpy."""

import numpy as np

HOP_S = 0.005              # analysis frame step: 5 ms, fine enough to time an onset
WINDOW = 256               # samples per band analysis at 16 kHz (16 ms): 62.5 Hz bins
# band edges in 16 kHz / 256-point bins (125 Hz up): a quiet low knock under hiss, or a clap
# under rumble, still stands out in its own band where a broadband level would hide it
BAND_EDGES_HZ = (125, 250, 440, 700, 1000, 1500, 2500, 4000, 6250, 8000)
SIGNATURE_N = 1024         # samples (64 ms at 16 kHz) of an impulse compared with its twin
SIGNATURE_HZ = (125, 6000)
SIGNATURE_SMOOTH = 5       # bins: a clap's noise excitation is random; its cavity shape is not


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
    __slots__ = ("shape", "profile")

    def __init__(self, shape, profile):
        self.shape, self.profile = shape, profile


def signature(segment: np.ndarray, rate: int, noise_psd: np.ndarray) -> Signature | None:
    """The impulse's spectrum above the noise; None if nothing stands above the noise.
    `noise_psd` is per bin of a BandAnalyzer frame."""
    n = len(segment)
    taper = np.cos(np.linspace(0, np.pi / 2, n)) ** 2          # keep the attack, fade the ring
    power = np.abs(np.fft.rfft(segment * taper)) ** 2 / np.sum(taper ** 2)
    freqs = np.fft.rfftfreq(n, 1 / rate)
    noise = np.interp(freqs, np.linspace(0, rate / 2, len(noise_psd)), noise_psd)
    excess_power = np.maximum(power - 1.5 * noise, 0.0)
    keep = (freqs >= SIGNATURE_HZ[0]) & (freqs <= SIGNATURE_HZ[1])
    shape = np.convolve(np.sqrt(excess_power), np.ones(SIGNATURE_SMOOTH) / SIGNATURE_SMOOTH, mode="same")[keep]
    length = float(np.linalg.norm(shape))
    if length <= 0:
        return None
    band = np.floor(3 * np.log2(np.maximum(freqs[keep], 1) / SIGNATURE_HZ[0])).astype(int)
    thirds = np.bincount(band, weights=excess_power[keep])
    profile = 10 * np.log10(np.maximum(thirds, thirds.max() * 1e-3))
    return Signature(shape / length, profile)


def likeness(a: Signature | None, b: Signature | None, noisy: bool = False) -> float:
    """0..1: how alike two impulses are (1: the same sound twice): the weaker of the fine
    spectrum's cosine and the envelopes' correlation in dB. `noisy` (claps): the envelopes'
    cosine instead, since a noise burst's fine detail differs even from the same hands."""
    if a is None or b is None or a.shape.shape != b.shape.shape:
        return 0.0
    fine = float(np.dot(a.shape, b.shape))
    if noisy:
        pa, pb = 10 ** (a.profile / 20), 10 ** (b.profile / 20)
    else:
        pa, pb = a.profile - a.profile.mean(), b.profile - b.profile.mean()
    envelope = float(np.dot(pa, pb) / max(float(np.linalg.norm(pa) * np.linalg.norm(pb)), 1e-12))
    return float(np.clip(min(fine, envelope), 0.0, 1.0))


def high_share(sig: Signature | None, above_hz: float = 1000.0) -> float:
    """The share of a signature's energy above `above_hz`."""
    if sig is None:
        return 0.0
    shape = sig.shape
    spacing = 16000 / SIGNATURE_N     # signature segments scale with the rate: fixed bin spacing
    freqs = (np.ceil(SIGNATURE_HZ[0] / spacing) + np.arange(len(shape))) * spacing
    return float(np.sum(shape[freqs > above_hz] ** 2))
