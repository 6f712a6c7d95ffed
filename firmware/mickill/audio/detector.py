"""The knock/clap detector: impulsive onsets against an adaptive noise floor, matched to a pattern.

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

HOP_S = 0.005              # analysis frame: 5 ms, fine enough to time an onset
PRE_EMPHASIS = 0.95        # first-difference high-pass: rumble and hum do not hide knocks
MIN_FLOOR_DBFS = -80.0     # digital silence is not an infinitely quiet room
FLOOR_DOWN, FLOOR_UP = 0.1, 0.01   # the floor falls fast and rises over ~0.5 s in quiet
FLOOR_LEAK = 0.0005        # in sustained sound the floor creeps up over ~10 s: it becomes background
END_DB = 3.0               # an event has ended when it is this close to the floor...
END_BELOW_PEAK_DB = 30.0   # ...or this far below its own peak
TAIL_BELOW_PEAK_DB = 20.0  # a decaying tail this far below the peak is not a new sound
ONSET_RISE_DB = 6.0        # a new event needs a rise, so a loud knock's tail starts nothing
MAX_RISE_S = 0.015         # impulsive: reaches its peak (within 3 dB) this fast...
MAX_DECAY_S = 0.15         # ...and falls away this fast (plucked notes and voices do not)
MIN_CREST = 3.0            # impulsive: peak sample well above the RMS around it
CREST_BEFORE_S, CREST_AFTER_S = 0.01, 0.1  # the crest factor's window around the onset
LOUD_OVER_THRESHOLD_DB = 3.0   # quiet checks ignore noise that only just crosses the threshold
LOUD_BELOW_PATTERN_DB = 20.0   # ...and sounds this far below the pattern's impulses
SIMILAR_DB = 9.0           # a deliberate pattern repeats one sound; clatter varies
CLAP_FLATNESS = 0.2        # a clap is noise-like (flat spectrum); a knock is a resonance


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
    __slots__ = ("id", "onset", "onset_t", "peak", "peak_level", "rise", "end", "impulsive",
                 "kind", "score")

    def __init__(self, ident, frame, level):
        self.id = ident
        self.onset = self.peak = frame
        self.peak_level = level
        self.rise = None          # frames from onset to within 3 dB of the peak
        self.end = None
        self.impulsive = False
        self.kind = "knock"
        self.score = 0.0
        self.onset_t = 0.0


class Detector:
    """Feed int16 (or float in [-1, 1]) mono samples; get the `Detection`s they complete."""

    def __init__(self, sample_rate: int, pattern: Pattern = Pattern()):
        self.rate = sample_rate
        self.pattern = pattern
        self.hop = max(1, round(sample_rate * HOP_S))
        span_s = pattern.quiet_before_s + pattern.count * pattern.gap_max_s + pattern.cancel_after_s + 0.5
        self._history = deque(maxlen=int(span_s / HOP_S))   # (frame, level dB, event id or -1)
        self._ring = np.zeros(0, dtype=np.float32)           # recent filtered samples, bounded
        self._ring_start = 0                                  # absolute index of _ring[0]
        self._ring_max = int(sample_rate * 1.0)
        self._pending = np.zeros(0, dtype=np.float32)
        self._last_x = 0.0
        self._frame = 0
        self._floor = 10 ** (MIN_FLOOR_DBFS / 10)
        self._primed = False
        self._events: deque[_Event] = deque(maxlen=32)
        self._current: _Event | None = None
        self._next_id = 0
        self._armed: list[_Event] | None = None   # a pattern awaiting its quiet-after decision
        self._opened_at: int | None = None        # last impulse's frame of an emitted pattern

    # -- streaming ----------------------------------------------------------------------

    def feed(self, samples) -> list[Detection]:
        x = np.asarray(samples)
        if x.dtype.kind == "i":
            x = x.astype(np.float32) / 32768.0
        x = x.astype(np.float32, copy=False).ravel()
        if not x.size:
            return []
        shifted = np.concatenate(([self._last_x], x[:-1])).astype(np.float32)
        self._last_x = float(x[-1])
        filtered = x - PRE_EMPHASIS * shifted
        self._append_ring(filtered)
        data = np.concatenate((self._pending, filtered))
        frames = len(data) // self.hop
        self._pending = data[frames * self.hop:]
        if not frames:
            return []
        powers = np.mean(np.square(data[: frames * self.hop].reshape(frames, self.hop),
                                   dtype=np.float64), axis=1)
        found = []
        for power in powers:
            found.extend(self._step(float(power)))
            self._frame += 1
        return found

    def _append_ring(self, filtered):
        self._ring = np.concatenate((self._ring, filtered))
        excess = len(self._ring) - self._ring_max
        if excess > 0:
            self._ring = self._ring[excess:]
            self._ring_start += excess

    # -- one frame ----------------------------------------------------------------------

    def _step(self, power: float) -> list[Detection]:
        f = self._frame
        if not self._primed:
            self._floor = max(power, self._floor)
            self._primed = True
        level = 10 * np.log10(max(power, 1e-20) / self._floor)
        threshold = self.pattern.threshold_db
        found = []

        event = self._current
        if event is None and level >= threshold and self._rising(level) and not self._in_tail(f, level):
            event = self._current = _Event(self._next_id, f, level)
            self._next_id += 1
            event.onset_t = self._refine_onset(f)
            self._events.append(event)
        if event is not None:
            if level > event.peak_level:
                event.peak, event.peak_level, event.rise = f, level, None
            if event.rise is None and level >= event.peak_level - 3:
                event.rise = f - event.onset
            if level < max(END_DB, event.peak_level - END_BELOW_PEAK_DB):
                event.end = f
                self._classify(event)
                self._current = None
                found.extend(self._after_event(event))
            elif (f - event.peak) * HOP_S > MAX_DECAY_S + 0.3:
                event.impulsive = False   # long sound: still open, but it can never be a knock
        in_tail = event is None and self._in_tail(f, level)
        owner = event.id if event is not None else (self._events[-1].id if in_tail else -1)
        self._history.append((f, level, owner))

        quiet_now = level < threshold
        rate = FLOOR_DOWN if power < self._floor else FLOOR_UP
        if not quiet_now and self._current is not None:
            rate = FLOOR_LEAK
        elif not quiet_now:
            rate = min(rate, FLOOR_LEAK * 4)
        # in dB, so one loud frame cannot drag the floor up
        floor_db = 10 * np.log10(self._floor) + rate * level
        self._floor = 10 ** (max(floor_db, MIN_FLOOR_DBFS) / 10)

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

    def _refine_onset(self, f: int) -> float:
        """The onset to the sample: the first sample well above the noise near the onset frame."""
        lo = max((f - 1) * self.hop, self._ring_start)
        hi = (f + 3) * self.hop
        window = np.abs(self._ring[lo - self._ring_start: hi - self._ring_start])
        if not window.size:
            return f * HOP_S
        limit = max(0.25 * float(window.max()), 4.0 * float(np.sqrt(self._floor)))
        above = np.flatnonzero(window >= limit)
        index = lo + (int(above[0]) if above.size else 0)
        return index / self.rate

    def _classify(self, event: _Event):
        """Impulsive: fast rise, fast decay, high crest factor; kind by spectral flatness."""
        rise_s = (event.rise or 0) * HOP_S
        decay_s = (event.end - event.peak) * HOP_S
        onset = int(event.onset_t * self.rate) - self._ring_start
        lo = max(onset - int(CREST_BEFORE_S * self.rate), 0)
        if onset < 0:
            return     # began before the kept audio: far too long to be a knock
        segment = self._ring[lo: onset + int(CREST_AFTER_S * self.rate)].astype(np.float64)
        if segment.size < int(0.03 * self.rate) + onset - lo:
            return
        rms = float(np.sqrt(np.mean(segment ** 2))) or 1e-12
        crest = float(np.max(np.abs(segment))) / rms
        event.impulsive = rise_s <= MAX_RISE_S and decay_s <= MAX_DECAY_S and crest >= MIN_CREST
        head = segment[onset - lo: onset - lo + int(0.03 * self.rate)]
        spectrum = np.abs(np.fft.rfft(head * np.hanning(head.size))) ** 2 + 1e-20
        band = spectrum[max(1, head.size * 100 // self.rate): head.size * 6000 // self.rate]
        flatness = float(np.exp(np.mean(np.log(band))) / np.mean(band)) if band.size else 0.0
        event.kind = "clap" if flatness >= CLAP_FLATNESS else "knock"
        margin = min(1.0, (event.peak_level - self.pattern.threshold_db) / 12.0)
        event.score = float(np.clip(0.5 + 0.3 * margin + 0.1 * (1 - decay_s / MAX_DECAY_S)
                                    + 0.1 * min(1.0, (crest - MIN_CREST) / 3.0), 0.0, 1.0))

    # -- patterns -----------------------------------------------------------------------

    def _after_event(self, event: _Event) -> list[Detection]:
        """An ended event: arm a pattern that ends with it, or cancel a recent opening."""
        p = self.pattern
        if self._opened_at is not None and event.impulsive \
                and (event.onset - self._opened_at) * HOP_S <= p.cancel_after_s:
            self._opened_at = None
            return [Detection(event.onset_t, "cancel", event.score)]
        if not event.impulsive:
            return []
        chain = [e for e in self._events if e.id <= event.id][-p.count:]
        if len(chain) == p.count and all(e.impulsive for e in chain):
            gaps = [(b.onset_t - a.onset_t) for a, b in zip(chain, chain[1:])]
            levels = [e.peak_level for e in chain]
            alike = max(levels) - min(levels) <= SIMILAR_DB
            if alike and all(p.gap_min_s <= g <= p.gap_max_s for g in gaps):
                self._armed = chain
        return []

    def _decide(self, f: int) -> list[Detection]:
        chain = self._armed
        if chain is None:
            return []
        p = self.pattern
        last = chain[-1]
        if (f - last.onset) * HOP_S < p.quiet_after_s:
            return []
        self._armed = None
        ids = {e.id for e in chain}
        first_onset = chain[0].onset
        start = first_onset - int(p.quiet_before_s / HOP_S)
        if start < 0 or (self._history and self._history[0][0] > start):
            return []      # not enough history to know it was quiet before
        # "loud" is relative to the pattern itself: a radio 25 dB below the knocks is background
        loud = max(p.threshold_db + LOUD_OVER_THRESHOLD_DB,
                   min(e.peak_level for e in chain) - LOUD_BELOW_PATTERN_DB)
        for frame, level, owner in self._history:
            if frame >= start and owner not in ids and level >= loud:
                return []  # something else was loud before, between or after the impulses
        if any(e.id > last.id for e in self._events):
            return []
        self._opened_at = last.onset
        return [Detection(last.onset_t, last.kind, min(e.score for e in chain))]
