"""The audio service the daemon starts beside its socket: capture -> detector -> gate, and the
masker following the daemon's status. Each part has its own thread and its own connection."""

import logging
import socket
import threading

from ..control import Client
from ..errors import MickillError
from .config import AudioConfig, parse
from .detector import Detector, Pattern
from .gate import Gate

log = logging.getLogger("mickill.audio")
RETRY_S = 1.0


def pattern_of(audio: AudioConfig) -> Pattern:
    return Pattern(gap_min_s=audio.gap_min_ms / 1000, gap_max_s=audio.gap_max_ms / 1000,
                   threshold_db=audio.threshold_db)


def start(config, socket_path, audio: AudioConfig | None = None, *, source=None, output=None):
    """Start what `[audio]` enables; None when it enables nothing. `source` (an object with
    `blocks()` and `close()`) and `output` (with `set_masking`, `play_chime`, `close`) replace
    the PyAudio devices where given."""
    if audio is None:
        audio, warnings = parse(config.extra.get("audio"), config.relay.wiring)
        for warning in warnings:
            log.warning("%s", warning)
    if not audio.enabled:
        return None
    return AudioService(audio, socket_path, source, output)


class AudioService:
    def __init__(self, audio: AudioConfig, socket_path, source=None, output=None):
        self.audio = audio
        self.socket_path = socket_path
        self._stop = threading.Event()
        self._threads = []
        self._watch_client: Client | None = None
        self.following = threading.Event()    # set once the daemon's status has been applied
        self.source = source
        self.output = output
        listening = audio.gate or audio.phrase
        try:
            if listening and self.source is None:
                from .sources import LiveInput
                self.source = LiveInput(audio.input_device, audio.sample_rate)
            if (audio.masking or audio.chime) and self.output is None:
                from .masking import Masker
                from .output import Output
                masker = Masker(audio.sample_rate, audio.masking_level_db)
                self.output = Output(masker, audio.output_device, audio.sample_rate)
        except BaseException:
            self._close_devices()
            raise
        if listening:
            self._spawn("audio-gate", self._listen)
        if self.output is not None:
            if audio.masking:
                self.output.set_masking(True)   # fail closed until the daemon says "live"
            self._spawn("audio-masker", self._follow)
        log.info("audio: gate %s, masking %s", "on" if listening else "off",
                 "on" if audio.masking else "off")

    def _spawn(self, name, target):
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _listen(self):
        detectors = [Detector(self.audio.sample_rate, pattern_of(self.audio))] if self.audio.gate else []
        if self.audio.phrase:
            try:
                from .phrase import PhraseDetector
                detectors.append(PhraseDetector(self.audio.phrase, self.audio.sample_rate))
            except MickillError as exc:
                log.error("audio: %s", exc)
        gate = Gate(Client(self.socket_path, source="audio"), self.audio.window_s)
        for block in self.source.blocks():
            if self._stop.is_set():
                break
            for detector in detectors:
                for detection in detector.feed(block):
                    log.info("audio: heard %s", detection.as_dict())
                    gate.on_detection(detection)
        gate.client.close()

    def _follow(self):
        """Noise on while the mic is meant to be cut; chimes when the gate opens and closes."""
        previous = None
        while not self._stop.is_set():
            client = self._watch_client = Client(self.socket_path, source="audio")
            try:
                for status in client.watch():
                    if self._stop.is_set():
                        break
                    previous = self._apply(status, previous)
            except MickillError as exc:
                log.debug("audio: watching the daemon: %s", exc)
            client.close()
            if self.audio.masking:
                self.output.set_masking(True)  # no daemon to ask: the mic should be cut
            self._stop.wait(RETRY_S)

    def _apply(self, status: dict, previous: dict | None) -> dict:
        muted = status.get("state") != "live"
        if self.audio.masking:
            self.output.set_masking(muted)
        self.following.set()
        if self.audio.chime and previous is not None and previous.get("state") != status.get("state"):
            ours = (status.get("override") or {}).get("source") == "audio" if not muted else \
                (previous.get("override") or {}).get("source") == "audio"
            if ours:
                self.output.play_chime(opening=not muted)
        return status

    def stop(self):
        self._stop.set()
        client = self._watch_client
        if client is not None and client._sock is not None:
            try:
                client._sock.shutdown(socket.SHUT_RDWR)   # wake the watcher blocked in recv
            except OSError:
                pass
        self._close_devices()
        for thread in self._threads:
            thread.join(timeout=3)

    def _close_devices(self):
        if self.source is not None:
            self.source.close()
        if self.output is not None:
            self.output.close()
