"""The optional key phrase: offline keyword spotting with pocketsphinx (`mickill[phrase]`).

pocketsphinx ships its English model inside the package; nothing is downloaded or sent.
"""

from ..errors import MickillError
from .detector import Detection

DEFAULT_THRESHOLD = 1e-20   # pocketsphinx's keyphrase threshold: smaller hears more, errs more


class PhraseDetector:
    """Feed 16 kHz int16 samples; returns a `Detection(kind="phrase")` when the phrase is heard."""

    def __init__(self, phrase: str, sample_rate: int = 16000, threshold: float = DEFAULT_THRESHOLD):
        try:
            from pocketsphinx import Config, Decoder
        except ImportError:
            raise MickillError("audio.phrase needs pocketsphinx: pip install 'mickill[phrase]'") from None
        if sample_rate != 16000:
            raise MickillError("audio.phrase works at 16000 Hz only: set audio.sample_rate = 16000")
        config = Config(keyphrase=phrase, kws_threshold=threshold, samprate=sample_rate, loglevel="FATAL")
        try:
            self._decoder = Decoder(config)
        except (RuntimeError, ValueError) as exc:
            raise MickillError(f"audio.phrase {phrase!r} cannot be spotted ({exc}); use common "
                               "English words the model's dictionary knows") from None
        self.rate = sample_rate
        self._samples = 0
        self._decoder.start_utt()

    def feed(self, samples) -> list[Detection]:
        import numpy as np
        block = np.asarray(samples, dtype="<i2")
        self._samples += len(block)
        self._decoder.process_raw(block.tobytes(), False, False)
        hyp = self._decoder.hyp()
        if hyp is None:
            return []
        # restart so the same utterance is not reported again
        self._decoder.end_utt()
        self._decoder.start_utt()
        score = min(1.0, max(0.0, float(getattr(hyp, "prob", 0) or 0) + 1.0))
        return [Detection(self._samples / self.rate, "phrase", score)]
