"""Audio benchmark: detector CPU cost, detection latency, hit rate at 10 dB over background, and
false openings in 60 minutes of speech, music and household noise. Prints JSON figures, with
the definitions they rest on. Usage: bench_audio.py [MINUTES_PER_KIND [SEED]]."""

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from audio_fixtures import RATE, clatter, double_knock, music, noise, speech_track, stream  # noqa: E402

from mickill.audio.detector import Detector  # noqa: E402


DEFINITIONS = {
    "level_db_over_background": "the impulse's RMS over its first 10 ms vs the background noise's RMS, "
                                "both full band (the shortest window: a 20 ms meter would read the same "
                                "knock 1-3 dB lower, i.e. call it louder than it is)",
    "double_knock": "one knuckle on one table (or one pair of hands) twice: same resonances +-2%, "
                    "decay +-10%, each impulse at the level +-1.5 dB; gap uniform 150-700 ms",
    "hit": "an opening whose time is within 20 ms of the second impulse's onset",
    "false_opening": "any opening in the test audio, including one cancelled by later clatter",
    "test_audio": "speech: espeak-ng, 6 voices, 120-230 words/min, pauses 0.2-2.5 s; music: chords, "
                  "plucked notes, kick and hi-hat; household: brown noise with lone thumps and clinks, "
                  "clatter of 2-8 unlike impulses 50-800 ms apart (lone pairs included), footsteps, "
                  "doors with rattle, typing; impulses 10-40 dB over the background",
}


def false_openings(minutes_each: float, rng):
    seconds = 60 * minutes_each
    background = noise(rng, seconds) * 10 ** (-55 / 20)
    tracks = {"speech": lambda: speech_track(rng, seconds) * 0.05 + background,
              "music": lambda: music(rng, seconds) * 0.05 + background,
              "household": lambda: clatter(rng, seconds)}
    figures, cpu, audio_s = {}, 0.0, 0.0
    for name, make in tracks.items():
        x = make()
        started = time.process_time()
        found = stream(Detector(RATE), x)
        cpu += time.process_time() - started
        audio_s += len(x) / RATE
        opened = sum(d.kind != "cancel" for d, _ in found)
        cancelled = sum(d.kind == "cancel" for d, _ in found)
        # an opening later cancelled still had the mic live for a moment: it counts
        figures[name] = {"minutes": minutes_each, "false_openings": opened, "of_which_cancelled_within_1s": cancelled}
    return figures, 1000 * cpu / audio_s


def hit_rate(trials, rng, level_db=10.0, backgrounds=("pink", "brown")):
    hits, latencies = 0, []
    for _ in range(trials):
        x, second = double_knock(rng, seconds=3.5, gap=rng.uniform(0.15, 0.7), level_db=level_db,
                                 kind=rng.choice(["knock", "clap"]), background=rng.choice(backgrounds))
        found = [(d, at) for d, at in stream(Detector(RATE), x) if d.kind != "cancel" and abs(d.t - second) < 0.02]
        if found:
            hits += 1
            latencies.append(found[0][1] - second)
    return hits / trials, latencies


def main():
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0   # per kind: 3 x 20 = 60 minutes
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 2027         # another seed: other test audio
    rng = np.random.default_rng(seed)
    figures, cpu_ms = false_openings(minutes, rng)
    rate10, latencies = hit_rate(200, rng, 10.0)
    rate_mixed, more = hit_rate(200, rng, 20.0)
    rate_white, more_white = hit_rate(100, rng, 10.0, ("white",))
    latencies += more + more_white
    print(json.dumps({
        "definitions": DEFINITIONS,
        "seed": seed,
        "detector_cpu_ms_per_audio_s": round(cpu_ms, 2),
        "latency_ms_max": round(1000 * max(latencies), 1),
        "latency_ms_median": round(1000 * float(np.median(latencies)), 1),
        "hit_rate_10db_pink_brown_noise": rate10,
        "hit_rate_20db_pink_brown_noise": rate_mixed,
        "hit_rate_10db_white_noise": rate_white,
        "false_openings": figures,
    }, indent=1))


if __name__ == "__main__":
    main()
