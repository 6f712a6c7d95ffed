"""`mickill audio devices|detect|listen|run`: set up and try the knock gate and masking noise."""

import json
import sys


def register(subparsers):
    audio = subparsers.add_parser("audio", help="the knock-to-talk gate and the masking noise")
    commands = audio.add_subparsers(dest="audio_command", metavar="ACTION")
    commands.required = True
    devices = commands.add_parser("devices", help="list sound inputs and outputs")
    devices.set_defaults(func=devices_command)
    detect = commands.add_parser("detect", help="find double knocks and claps in a WAV file")
    detect.add_argument("file", metavar="FILE.wav")
    detect.add_argument("--json", action="store_true", help="one JSON object per detection")
    detect.add_argument("--threshold-db", type=_threshold_db, default=None,
                        help="how far above the room's noise a knock must be, 3..40 dB")
    detect.set_defaults(func=detect_command)
    for name, func, text in (("listen", listen_command, "show the input level and detections (Ctrl-C ends)"),
                             ("run", run_command, "run the gate and masking against a running daemon")):
        parser = commands.add_parser(name, help=text)
        parser.add_argument("--config", metavar="FILE", help="hardware config with the [audio] section")
        parser.add_argument("--data", metavar="DIR", help="the daemon's data folder")
        parser.add_argument("--seconds", type=float, default=None, help="stop after this long")
        parser.set_defaults(func=func)


def _threshold_db(text: str) -> float:
    import argparse
    import math

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 3 <= value <= 40:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"expected decibels from 3 to 40, not {text!r}")
    return value


def _audio_config(args):
    from ..audio.config import parse
    from ..config import load
    from ..paths import config_path

    config = load(config_path(args.config))
    audio, warnings = parse(config.extra.get("audio"), config.relay.wiring)
    for warning in warnings:
        print(f"mickill: {warning}", file=sys.stderr)
    return config, audio


def devices_command(args) -> int:
    from ..audio.sources import list_devices

    found = list_devices()
    for d in found:
        rates = ", ".join(str(r) for r in d["rates"]) or "none at 16-bit mono"
        print(f"{d['index']:3}  {d['name']}  (in {d['inputs']}, out {d['outputs']}; rates {rates})")
    if not found:
        print("mickill: no sound devices found: plug in a USB microphone (and a speaker for masking "
              "noise), then run this again", file=sys.stderr)
        return 1
    return 0


def detect_command(args) -> int:
    from ..audio.detector import Detector, Pattern
    from ..audio.sources import wav_blocks

    rate, blocks = wav_blocks(args.file)
    pattern = Pattern() if args.threshold_db is None else Pattern(threshold_db=args.threshold_db)
    detector = Detector(rate, pattern, quiet_before_start=True)   # a file begins with its recording
    for block in blocks:
        for d in detector.feed(block):
            if args.json:
                print(json.dumps(d.as_dict()), flush=True)
            else:
                print(f"{d.t:9.3f} s  {d.kind:<7} score {d.score:.2f}", flush=True)
    return 0


def listen_command(args) -> int:
    import numpy as np

    from ..audio.detector import Detector
    from ..audio.service import pattern_of
    from ..audio.sources import LiveInput

    _, audio = _audio_config(args)
    source = LiveInput(audio.input_device, audio.sample_rate)
    detector = Detector(audio.sample_rate, pattern_of(audio))
    limit = int(args.seconds * audio.sample_rate) if args.seconds else None
    try:
        for block in source.blocks(limit):
            level = 20 * np.log10(max(float(np.sqrt(np.mean(block.astype(np.float64) ** 2))), 1.0) / 32768)
            bar = "#" * max(0, int((level + 80) / 2))
            print(f"\r{level:6.1f} dBFS {bar:<40}", end="", file=sys.stderr, flush=True)
            for d in detector.feed(block):
                print(f"\n{d.t:9.3f} s  {d.kind:<7} score {d.score:.2f}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        source.close()
        print(file=sys.stderr)
    return 0


def run_command(args) -> int:
    import threading

    from ..audio import service
    from ..errors import MickillError
    from ..paths import data_dir, socket_path

    config, audio = _audio_config(args)
    if not audio.enabled:
        raise MickillError("[audio] is not enabled: set audio.enabled = true in the config file")
    handle = service.start(config, socket_path(data_dir(args.data)), audio)
    try:
        threading.Event().wait(args.seconds)
    except KeyboardInterrupt:
        pass
    finally:
        handle.stop()
    return 0
