"""Where audio comes from: a WAV file (tests, offline analysis) or a PyAudio input stream.

Both yield int16 mono blocks; the live source reads in its own thread into a bounded queue,
so a slow consumer loses audio rather than growing memory. Nothing is ever written out.
"""

import queue
import threading
import wave
from pathlib import Path

import numpy as np

from ..errors import MickillError

BLOCK_S = 0.02            # 20 ms blocks: low latency, few wake-ups
QUEUE_BLOCKS = 50         # at most one second of audio waits in memory


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """A 16-bit PCM WAV file as (mono int16 samples, rate); other files are a clear error."""
    try:
        with wave.open(str(path), "rb") as src:
            if src.getsampwidth() != 2:
                raise MickillError(f"{path}: {8 * src.getsampwidth()}-bit samples; convert it to "
                                   "16-bit PCM (sox IN -b 16 OUT.wav)")
            channels, rate = src.getnchannels(), src.getframerate()
            data = np.frombuffer(src.readframes(src.getnframes()), "<i2")
    except (wave.Error, EOFError) as exc:
        raise MickillError(f"{path}: not a PCM WAV file ({exc}); convert it with sox IN -b 16 OUT.wav") from None
    except OSError as exc:
        raise MickillError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if channels > 1:  # mix down: the detector wants one channel
        data = data.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return data, rate


def wav_blocks(path: Path, block_s: float = BLOCK_S):
    """(rate, iterator of int16 blocks) of a WAV file, as a live source would deliver them."""
    data, rate = read_wav(path)
    size = max(1, int(rate * block_s))
    return rate, (data[i:i + size] for i in range(0, len(data), size))


def pyaudio_module():
    try:
        import pyaudio
    except ImportError:
        raise MickillError("PyAudio is not installed: pip install 'mickill[audio]' "
                           "(it needs portaudio19-dev to build)") from None
    return pyaudio


def find_device(pa, wanted, output: bool) -> int | None:
    """A PortAudio device index from an index or a name substring; None for the default."""
    if wanted is None:
        return None
    direction = "maxOutputChannels" if output else "maxInputChannels"
    devices = [pa.get_device_info_by_index(i) for i in range(pa.get_device_count())]
    usable = [d for d in devices if d[direction] > 0]
    if isinstance(wanted, int):
        if any(d["index"] == wanted for d in usable):
            return wanted
    else:
        for d in usable:
            if wanted.lower() in d["name"].lower():
                return d["index"]
    names = ", ".join(f"{d['index']}: {d['name']}" for d in usable) or "none"
    kind = "output" if output else "input"
    raise MickillError(f"no {kind} device matches {wanted!r} (there are {names}); "
                       "see 'mickill audio devices' and set audio.input_device/output_device")


def list_devices() -> list[dict]:
    pyaudio = pyaudio_module()
    pa = pyaudio.PyAudio()
    try:
        found = []
        for i in range(pa.get_device_count()):
            d = pa.get_device_info_by_index(i)
            rates = []
            for rate in (8000, 16000, 44100, 48000):
                try:
                    ok_in = d["maxInputChannels"] > 0 and pa.is_format_supported(
                        rate, input_device=i, input_channels=1, input_format=pyaudio.paInt16)
                except ValueError:
                    ok_in = False
                try:
                    ok_out = d["maxOutputChannels"] > 0 and pa.is_format_supported(
                        rate, output_device=i, output_channels=1, output_format=pyaudio.paInt16)
                except ValueError:
                    ok_out = False
                if ok_in or ok_out:
                    rates.append(rate)
            found.append({"index": i, "name": d["name"], "inputs": d["maxInputChannels"],
                          "outputs": d["maxOutputChannels"], "rates": rates})
        return found
    finally:
        pa.terminate()


def open_stream(device, rate: int, size: int, *, output: bool, trouble: str):
    """(PyAudio, an open 16-bit mono stream) on `device`, input or output. If it cannot be
    opened, PortAudio is released and the error says `trouble` (what to check)."""
    pyaudio = pyaudio_module()
    pa = pyaudio.PyAudio()
    try:
        index = find_device(pa, device, output=output)
        direction = {"output": True, "output_device_index": index} if output else \
            {"input": True, "input_device_index": index}
        stream = pa.open(format=pyaudio.paInt16, channels=1, rate=rate, frames_per_buffer=size, **direction)
    except OSError as exc:
        pa.terminate()
        raise MickillError(f"cannot open the {'sound output' if output else 'microphone'} ({exc}); "
                           f"{trouble}") from None
    except BaseException:
        pa.terminate()
        raise
    return pa, stream


def close_stream(pa, stream) -> None:
    """Undo open_stream: stop and close the stream, then release PortAudio whatever happens."""
    try:
        stream.stop_stream()
        stream.close()
    finally:
        pa.terminate()


class LiveInput:
    """A PyAudio input stream read by its own thread; `blocks()` yields int16 arrays."""

    def __init__(self, device=None, rate: int = 16000, block_s: float = BLOCK_S):
        self.rate = rate
        self.size = int(rate * block_s)
        self._pa, self._stream = open_stream(
            device, rate, self.size, output=False,
            trouble="check audio.input_device and audio.sample_rate against 'mickill audio devices'")
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_BLOCKS)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audio-input", daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                data = self._stream.read(self.size, exception_on_overflow=False)
            except OSError:
                break
            block = np.frombuffer(data, "<i2").copy()
            # a full queue blocks this thread; PortAudio then drops input at the device (we
            # read with exception_on_overflow=False), so memory stays bounded either way
            while not self._stop.is_set():
                try:
                    self._queue.put(block, timeout=0.1)
                    break
                except queue.Full:
                    continue
        try:
            self._queue.put(None, timeout=0.5)
        except queue.Full:
            pass

    def blocks(self, limit: int | None = None):
        """Yield blocks until stopped (or until `limit` samples have been read)."""
        seen = 0
        while limit is None or seen < limit:
            block = self._queue.get()
            if block is None:
                return
            seen += len(block)
            yield block

    def close(self):
        self._stop.set()
        self._thread.join(timeout=2)
        close_stream(self._pa, self._stream)
