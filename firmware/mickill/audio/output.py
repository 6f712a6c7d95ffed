"""The sound output: masking noise and chimes mixed into one PyAudio stream, written by a thread."""

import queue
import threading

import numpy as np

from .masking import Masker, chime
from .sources import close_stream, open_stream

BLOCK_S = 0.02


class Output:
    """Plays `masker` continuously (silence when it is off) plus any queued chimes."""

    def __init__(self, masker: Masker, device=None, rate: int = 16000):
        self.masker = masker
        self.rate = rate
        self.size = int(rate * BLOCK_S)
        self._chimes: queue.Queue = queue.Queue(maxsize=4)
        self._chime = np.zeros(0, dtype=np.int16)
        self._pa, self._stream = open_stream(
            device, rate, self.size, output=True,
            trouble="check audio.output_device against 'mickill audio devices'")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audio-output", daemon=True)
        self._thread.start()

    def set_masking(self, on: bool):
        with self._lock:
            self.masker.set_on(on)

    def play_chime(self, opening: bool):
        try:
            self._chimes.put_nowait(chime(self.rate, opening))
        except queue.Full:
            pass

    def _run(self):
        while not self._stop.is_set():
            with self._lock:
                block = self.masker.next_block(self.size).astype(np.int32)
            if not len(self._chime):
                try:
                    self._chime = self._chimes.get_nowait()
                except queue.Empty:
                    pass
            if len(self._chime):
                part = self._chime[: self.size]
                block[: len(part)] += part
                self._chime = self._chime[len(part):]
            try:
                self._stream.write(np.clip(block, -32768, 32767).astype("<i2").tobytes())
            except OSError:
                break

    def close(self, fade: bool = True):
        """Stop; with `fade`, let the noise fade out first so the stop does not click."""
        if fade:
            self.set_masking(False)
            deadline = threading.Event()
            for _ in range(50):
                with self._lock:
                    if self.masker.silent:
                        break
                deadline.wait(0.02)
            deadline.wait(0.05)
        self._stop.set()
        self._thread.join(timeout=2)
        close_stream(self._pa, self._stream)
