"""The knock/clap detector: impulsive onsets in any of nine bands against their noise floors,
matched to a pattern of alike impulses.

Streaming and pure: `Detector(rate, pattern).feed(samples)` returns the detections the new
samples complete; nothing is kept beyond a bounded window of recent audio.

The tension between "nothing loud within 1 s after the last knock" and "decide within 250 ms"
is resolved by splitting the after-check in two:
  * the opening decision waits only `quiet_after_s` (0.2 s) after the last impulse's onset, so
    a detection comes about 0.2 s after the knock (bounded by 0.25 s with 20 ms input frames);
  * another *impulsive* sound within `cancel_after_s` (1 s) of the last impulse turns the
    pattern into clatter, and the detector then emits a `cancel` detection, on which the gate
    cuts the mic again. Speech is not impulsive and does not cancel: talking right after the
    knock is what the gate is for. The full 1 s of quiet is still required *before* the pattern.
"""

from collections import deque
from dataclasses import dataclass

import numpy as np

from .features import (HOP_S, SIGNATURE_N, BandAnalyzer, cavity_difference, click_contrast, frame_power, high_share,
                       likeness, refine_onset, ring_time, signature)

MIN_FLOOR_DBFS = -80.0     # digital silence is not an infinitely quiet room
MIN_FLOOR = 10 ** (MIN_FLOOR_DBFS / 10)
REFINE_AFTER = 4           # frames after the onset frame where the refined onset may lie
PRIME_FRAMES = 20          # frames (0.1 s) that set the first floor: nothing is detected in them
FLOOR_MEAN = 0.03          # in quiet a band's floor follows its mean power over ~0.2 s
FLOOR_LEAK = 0.0005        # in sustained sound the floor creeps up over ~10 s: it becomes background
NOISE_AVERAGE = 0.02       # the noise spectrum follows quiet frames over ~0.25 s
END_DB = 3.0               # an event has ended when it is this close to the floor...
END_BELOW_PEAK_DB = 30.0   # ...or this far below its own peak
TAIL_BELOW_PEAK_DB = 20.0  # a decaying tail this far below the peak is not a new sound
ONSET_RISE_DB = 6.0        # a new event needs a rise, so a loud knock's tail starts nothing
MAX_RISE_S = 0.02          # impulsive: reaches its peak (within 3 dB) this fast (16 ms windows)...
MAX_DECAY_S = 0.2          # ...and falls away this fast (plucked notes and voices do not)
LOUD_OVER_THRESHOLD_DB = 5.0   # quiet checks ignore noise that only just crosses the threshold
LOUD_BELOW_PATTERN_DB = 20.0   # ...and sounds this far below the pattern's impulses
GAP_SLACK_S = 0.01         # onsets are timed to a few ms: a gap on the limit must not fall either way
SIMILAR_DB = 6.0           # a deliberate pattern repeats one sound; clatter varies in loudness...
# ...and in spectrum: one table rings at the same resonances twice (fine spectra correlate
# closely), while a clap's noise makes even one pair of hands alike only in overall shape
MIN_FINE = {"knock": 0.9, "clap": 0.6}
MIN_ENVELOPE = {"knock": 0.75, "clap": 0.7}
CLAP_HIGH_SHARE = 0.4      # a clap's cupped palms ring above 1 kHz; a table's body below
KIND_MARGIN = 0.1
CLICK_DB = 10.0            # a knuckle's click stands this far above what is around it above 2 kHz...
CLICK_BELOW_BODY_DB = 20.0  # ...or, where the noise above 2 kHz would hide it, this far below the body
CLAP_RING_S = (0.0032, 0.02)   # a clap's palms ring a few ms: a key's click dies sooner, a glass later
RING_RATIO = {"knock": 1.4, "clap": 1.5}   # one gesture repeated rings as long; unlike ones vary
                           # (a clap's noise makes its ring time the less certain)
# one pair of hands cupped one way resonates where it did: two claps' smoothed spectra stay within
# this many dB RMS of each other (another's hands often do not, though a clap's cosine says alike)
CLAP_CAVITY_DB = 3.5
RING_OVER_NOISE = 4.0      # a bin ahead of the onset this far above the noise is a previous sound's ring


@dataclass(frozen=True)
class Pattern:
    count: int = 2
    gap_min_s: float = 0.15
    gap_max_s: float = 0.7
    quiet_before_s: float = 1.0
    quiet_after_s: float = 0.2
    cancel_after_s: float = 1.0
    threshold_db: float = 8.0   # an onset is this far above the noise floor


@dataclass(frozen=True)
class Detection:
    t: float       # seconds from the stream's start: onset of the pattern's last impulse
    kind: str      # "knock", "clap", or "cancel" (clatter followed an opening pattern)
    score: float   # 0..1, how clearly the sounds matched

    def as_dict(self) -> dict:
        return {"t": round(self.t, 3), "kind": self.kind, "score": round(self.score, 2)}


class _Event:
    __slots__ = ("id", "onset", "onset_t", "peak", "peak_level", "band", "rise", "end", "impulsive",
                 "kind", "score", "signature", "share", "click", "ring")

    def __init__(self, ident, frame, level, band):
        self.id = ident
        self.onset = self.peak = frame
        self.peak_level = level
        self.band = band          # the band where it stood out most at its peak
        self.rise = None          # frames from onset to within 3 dB of the peak
        self.end = None
        self.impulsive = False
        self.kind = "knock"
        self.score = 0.0
        self.onset_t = 0.0
        self.signature = None
        self.share = 0.0          # of its energy above 1 kHz
        self.ring = 0.0           # seconds: its power's mean time after the onset
        self.click = False        # began with a sharp click above 2 kHz (or one could not show)


def _kinds(events) -> list[str]:
    """What a pattern may be, from all its impulses' share above 1 kHz (one alone can sit near
    the line): near the line, noise can hide a clap's highs, so both rules are tried."""
    share = float(np.mean([e.share for e in events]))
    if abs(share - CLAP_HIGH_SHARE) <= KIND_MARGIN:
        return ["knock", "clap"]
    return ["clap"] if share >= CLAP_HIGH_SHARE else ["knock"]


class Detector:
    """Feed int16 (or float in [-1, 1]) mono samples; get the `Detection`s they complete."""

    def __init__(self, sample_rate: int, pattern: Pattern = Pattern(), *, quiet_before_start: bool = False):
        """`quiet_before_start`: count the time before the first sample as quiet. For a file
        analysed offline (it begins where a recording began); a live stream keeps it False, as
        nothing is known of what came before the microphone was opened."""
        self.rate = sample_rate
        self.pattern = pattern
        self.quiet_before_start = quiet_before_start
        self._bands = BandAnalyzer(sample_rate)
        self.hop = self._bands.hop
        span_s = pattern.quiet_before_s + pattern.count * pattern.gap_max_s + pattern.cancel_after_s + 0.5
        self._history = deque(maxlen=int(span_s / HOP_S))   # (frame, level dB, event id or -1)
        self._ring = np.zeros(0, dtype=np.float32)           # recent samples, bounded
        self._ring_start = 0                                  # absolute index of _ring[0]
        self._ring_max = int(sample_rate * 1.0)
        self._frame = 0
        self._floor = None        # per band, power
        self._noise_psd = None    # per bin of a band frame, for the impulses' signatures
        self._events: deque[_Event] = deque(maxlen=32)
        self._current: _Event | None = None
        self._ended: list[_Event] = []             # ended, awaiting the rest of their signature
        self._signature_n = SIGNATURE_N * sample_rate // 16000
        self._next_id = 0
        self._armed: tuple[list[_Event], str] | None = None   # a pattern awaiting its quiet-after decision
        self._opened_at: int | None = None        # last impulse's frame of an emitted pattern

    # -- streaming ----------------------------------------------------------------------

    def feed(self, samples) -> list[Detection]:
        x = np.asarray(samples)
        if x.dtype.kind == "i":
            x = x.astype(np.float32) / 32768.0
        x = x.astype(np.float32, copy=False).ravel()
        if not x.size:
            return []
        self._append_ring(x)
        bands, bins = self._bands.feed(x)
        found = []
        for row, spectrum in zip(bands, bins):
            found.extend(self._step(row, spectrum))
            self._frame += 1
        return found

    def _append_ring(self, x):
        self._ring = np.concatenate((self._ring, x))
        excess = len(self._ring) - self._ring_max
        if excess > 0:
            self._ring = self._ring[excess:]
            self._ring_start += excess

    # -- one frame ----------------------------------------------------------------------

    def _step(self, powers: np.ndarray, spectrum: np.ndarray) -> list[Detection]:
        f = self._frame
        first = self._bands.window_n // self.hop   # earlier windows hold the silence before the stream
        if f < first + PRIME_FRAMES:
            # the floor starts as the mean of the first 0.1 s: from one frame it could start low
            if f >= first:
                k = f - first
                self._floor = powers.copy() if k == 0 else self._floor + (powers - self._floor) / (k + 1)
                # the same lower bound as later: a muted microphone's zeros start no floor at 0
                self._floor = np.maximum(self._floor, MIN_FLOOR)
                self._noise_psd = spectrum.copy() if k == 0 else \
                    self._noise_psd + (spectrum - self._noise_psd) / (k + 1)
            return []
        levels = 10 * np.log10(np.maximum(powers, 1e-20) / self._floor)
        band = int(np.argmax(levels))
        level = float(levels[band])
        threshold = self.pattern.threshold_db
        found = []

        event = self._current
        if event is None and level >= threshold and self._rising(level) and not self._in_tail(f, level):
            event = self._current = _Event(self._next_id, f, level, band)
            self._next_id += 1
            self._events.append(event)
        if event is not None:
            if level > event.peak_level:
                event.peak, event.peak_level, event.band, event.rise = f, level, band, None
            if event.rise is None and level >= event.peak_level - 3:
                event.rise = f - event.onset
            if level < max(END_DB, event.peak_level - END_BELOW_PEAK_DB):
                event.end = f
                self._current = None
                self._ended.append(event)
            elif (f - event.peak) * HOP_S > MAX_DECAY_S + 0.3:
                event.impulsive = False   # long sound: still open, but it can never be a knock
        in_tail = event is None and self._in_tail(f, level)
        owner = event.id if event is not None else (self._events[-1].id if in_tail else -1)
        self._history.append((f, level, owner))

        quiet = levels < threshold
        if self._current is None:
            # quiet bands: the floor is the noise's mean power, so a band's level is a true SNR
            mean = self._floor + FLOOR_MEAN * (powers - self._floor)
            # loud bands outside an event creep up: sustained sound becomes background
            creep = self._floor * 10 ** (np.minimum(levels, 30.0) * FLOOR_LEAK * 4 / 10)
            self._floor = np.where(quiet, mean, creep)
            if level < threshold:
                self._noise_psd += NOISE_AVERAGE * (spectrum - self._noise_psd)
        else:
            self._floor = self._floor * 10 ** (np.clip(levels, 0.0, 30.0) * FLOOR_LEAK / 10)
        self._floor = np.maximum(self._floor, MIN_FLOOR)

        # an ended event is judged once its signature's samples have all arrived
        while self._ended and f >= self._ended[0].onset + REFINE_AFTER + self._signature_n // self.hop:
            ended = self._ended.pop(0)
            self._classify(ended)
            found.extend(self._after_event(ended))
        found.extend(self._decide(f))
        return found

    def _rising(self, level: float) -> bool:
        recent = [lvl for _, lvl, _ in list(self._history)[-3:]]
        return not recent or level - min(recent) >= ONSET_RISE_DB

    def _in_tail(self, f: int, level: float) -> bool:
        last = self._events[-1] if self._events else None
        return (last is not None and last.end is not None
                and (f - last.peak) * HOP_S <= MAX_DECAY_S + 0.15
                and level <= last.peak_level - TAIL_BELOW_PEAK_DB)

    def _samples(self, start: int, stop: int) -> np.ndarray | None:
        """Kept samples [start, stop) by absolute index, or None if not all are kept."""
        if start < self._ring_start or stop > self._ring_start + len(self._ring):
            return None
        return self._ring[start - self._ring_start: stop - self._ring_start].astype(np.float64)

    def _band_noise_rms(self, band: tuple[float, float]) -> float:
        """The noise's RMS within `band`, from the noise spectrum."""
        freqs = np.fft.rfftfreq(self._bands.window_n, 1 / self.rate)
        inside = (freqs >= band[0]) & (freqs <= band[1])
        return float(np.sqrt(2 * np.sum(self._noise_psd[inside]) / self._bands.window_n))

    def _classify(self, event: _Event):
        """Onset to the sample, impulsive (fast rise and decay), kind by where its energy lies,
        and the signature its twin must match."""
        window_end = (event.onset + 1) * self.hop      # the onset frame's window ends here
        lo = window_end - self._bands.window_n - 2 * self.hop
        around = self._samples(lo, window_end + REFINE_AFTER * self.hop)
        if around is None:
            return     # began before the kept audio: far too long to be a knock
        edges = self._bands.band_hz(event.band)
        onset = lo + refine_onset(around, self.rate, edges, self._band_noise_rms(edges))
        event.onset_t = onset / self.rate
        segment = self._samples(onset, onset + self._signature_n)
        if segment is None:
            return
        rise_s = (event.rise or 0) * HOP_S
        decay_s = (event.end - event.peak) * HOP_S
        event.impulsive = rise_s <= MAX_RISE_S and decay_s <= MAX_DECAY_S
        ms = self.rate // 1000
        ahead = self._samples(onset - 2 * ms - self._bands.window_n, onset - 2 * ms)
        ring = None
        if ahead is not None:
            ring = frame_power(ahead)
            ring = np.where(ring > RING_OVER_NOISE * self._noise_psd, ring, 0.0)
        event.signature = signature(segment, self.rate, self._noise_psd, ring)
        around = self._samples(onset - 30 * ms, onset + 55 * ms)
        if around is not None:
            noise_power = self._band_noise_rms((100.0, self.rate / 2)) ** 2
            event.ring = ring_time(around, self.rate, 30 * ms, noise_power)
        if around is not None:
            contrast, body = click_contrast(around, self.rate, 30 * ms)
            event.click = contrast >= min(CLICK_DB, body - CLICK_BELOW_BODY_DB)
        event.share = high_share(event.signature)
        event.kind = "clap" if event.share >= CLAP_HIGH_SHARE else "knock"
        margin = min(1.0, (event.peak_level - self.pattern.threshold_db) / 12.0)
        event.score = float(np.clip(0.5 + 0.3 * margin + 0.2 * (1 - decay_s / MAX_DECAY_S), 0.0, 1.0))

    # -- patterns -----------------------------------------------------------------------

    def _after_event(self, event: _Event) -> list[Detection]:
        """An ended event: arm a pattern that ends with it, or cancel a recent opening."""
        p = self.pattern
        if not self._counts(event):
            return []
        if self._opened_at is not None and event.impulsive \
                and (event.onset - self._opened_at) * HOP_S <= p.cancel_after_s:
            self._opened_at = None
            return [Detection(event.onset_t, "cancel", event.score)]
        if not event.impulsive:
            return []
        chain = [e for e in self._events if e.id <= event.id and self._counts(e)][-p.count:]
        if len(chain) == p.count and all(e.impulsive for e in chain):
            gaps = [(b.onset_t - a.onset_t) for a, b in zip(chain, chain[1:])]
            levels = [e.peak_level for e in chain]
            kind = next((k for k in _kinds(chain) if all(self._alike(a, b, k) for a, b in zip(chain, chain[1:]))),
                        None)
            if (kind and max(levels) - min(levels) <= SIMILAR_DB
                    and all(p.gap_min_s - GAP_SLACK_S <= g <= p.gap_max_s + GAP_SLACK_S for g in gaps)):
                self._armed = chain, kind
        return []

    @staticmethod
    def _alike(a: _Event, b: _Event, kind: str) -> bool:
        if kind == "knock" and not (a.click and b.click):
            return False   # a foot or a door thuds without a knuckle's click
        if kind == "clap" and not all(CLAP_RING_S[0] <= e.ring <= CLAP_RING_S[1] for e in (a, b)):
            return False
        if kind == "clap" and cavity_difference(a.signature, b.signature) > CLAP_CAVITY_DB:
            return False
        if max(a.ring, b.ring) > RING_RATIO[kind] * min(a.ring, b.ring):
            return False
        fine, envelope = likeness(a.signature, b.signature, noisy=kind == "clap")
        return fine >= MIN_FINE[kind] and envelope >= MIN_ENVELOPE[kind]

    def _counts(self, event: _Event) -> bool:
        """Noise that only just crossed the threshold is neither a knock nor clatter."""
        return event.peak_level >= self.pattern.threshold_db + LOUD_OVER_THRESHOLD_DB

    def _decide(self, f: int) -> list[Detection]:
        if self._armed is None:
            return []
        chain, kind = self._armed
        p = self.pattern
        last = chain[-1]
        if (f - last.onset) * HOP_S < p.quiet_after_s:
            return []
        self._armed = None
        ids = {e.id for e in chain}
        first_onset = chain[0].onset
        start = first_onset - int(p.quiet_before_s / HOP_S)
        stream_start = self._bands.window_n // self.hop + PRIME_FRAMES   # the first frame judged
        if self.quiet_before_start and start < stream_start and self._history \
                and self._history[0][0] == stream_start:
            start = stream_start   # what came before the recording counts as quiet
        if start < 0 or (self._history and self._history[0][0] > start):
            return []      # not enough history to know it was quiet before
        # "loud" is relative to the pattern itself: a radio 25 dB below the knocks is background
        loud = max(p.threshold_db + LOUD_OVER_THRESHOLD_DB,
                   min(e.peak_level for e in chain) - LOUD_BELOW_PATTERN_DB)
        for frame, level, owner in self._history:
            if frame >= start and owner not in ids and level >= loud:
                return []  # something else was loud before, between or after the impulses
        if any(e.id > last.id and self._counts(e) for e in self._events):
            return []
        self._opened_at = last.onset
        return [Detection(last.onset_t, kind, min(e.score for e in chain))]
