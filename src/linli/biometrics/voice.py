"""Voiceprints (声纹): Resemblyzer's GE2E speaker encoder, enrolment and verification.

The engine (:class:`ResemblyzerEngine`) uses the weights that the ``resemblyzer`` wheel
ships: a 3-layer LSTM over 40-band mel frames, trained with the generalised end-to-end
loss, that maps 1.6-s windows of speech to 256 non-negative numbers of unit length; an
utterance's embedding is the normalised mean of its windows'. Two embeddings are compared
by cosine distance (``1 − a·b``; 0 is the same direction; with non-negative vectors it is
at most 1). The model loads once per process, on first use; torch runs on one thread so
that each worker process keeps to one core.

Uploads are decoded and checked by :mod:`linli.biometrics.audio` first. Before embedding,
the speech is brought up to −30 dBFS and pauses longer than about 0.2 s are cut, as the
model was trained.

What this checks is *who* is speaking, not *what* is said: the terminal shows a random
:func:`prompt_phrase` so that a fixed recording does not match the prompt, but without a
speech recogniser the platform cannot tell whether the prompt was read. A recording of the
person saying anything passes; voice is therefore a second factor or a convenience, not a
door's only credential. Thresholds come from measurement (see :data:`VOICE_THRESHOLD`).
"""

from __future__ import annotations

import dataclasses
import random
import secrets
import threading
import warnings
from typing import Any

import numpy as np
from django.utils.translation import gettext as _

from linli.biometrics import audio
from linli.biometrics.engines import BiometricRefused, Samples, Vector

# Cosine distance at or below which a probe is accepted as the enrolled speaker. Measured
# with 3-utterance templates against each speaker's held-out utterances (20 templates per
# speaker, every other speaker's utterances as impostors):
#   LibriSpeech, 7 speakers × 10 read utterances, 16 kHz: genuine max 0.207, impostor
#   min 0.246; at 0.20, 0 of 8,400 impostor pairs accepted, 1 of 980 genuine refused.
#   FSDD, 4 speakers × 50 strings of 6 spoken digits, 8 kHz: genuine max 0.193, impostor
#   min 0.196; at 0.20, 5 of 12,000 impostor pairs accepted, 0 of 3,760 genuine refused.
# 0.20 lies where the two error rates meet on the harder (narrow-band) set. With 11
# speakers the impostor figures rest on 27 pairs of people: a community has far more, and
# its false accepts will be higher than these.
VOICE_THRESHOLD = 0.20
# Enrolment utterances further apart than this (cosine distance, any pair) are not taken
# as one speaker: the largest distance between two utterances of one speaker was 0.298
# (LibriSpeech) and 0.291 (FSDD); 0.2% and 3.6% of 3-utterance sets mixing speakers have
# every pair within it.
ENROL_MAX_DISTANCE = 0.30
ENROL_MIN_UTTERANCES = 3
ENROL_MAX_UTTERANCES = 10

# Mandarin digits for the spoken prompt (零 and 一 are read as written, not 洞/幺).
DIGITS = "零一二三四五六七八九"
PROMPT_MIN, PROMPT_MAX = 6, 8

_TARGET_DBFS = -30  # the level Resemblyzer's training audio was normalised to
_MIN_EMBED_SECONDS = 0.5  # of speech left after pauses are cut


@dataclasses.dataclass(frozen=True)
class VoiceMatch:
    """One probe against one template: the distance, and whether it passes ``threshold``."""

    distance: float
    accepted: bool
    threshold: float


class ResemblyzerEngine:
    """Resemblyzer's pretrained GE2E speaker encoder (256 dimensions, cosine)."""

    name = "resemblyzer-ge2e-256"
    dimension = 256
    metric = "cosine"
    sample_rate = 16_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._encoder: Any = None

    def _loaded(self) -> Any:
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    import torch

                    # One core per worker process; torch would otherwise start a thread per
                    # core in every process and they would fight.
                    torch.set_num_threads(1)
                    with warnings.catch_warnings():
                        # Resemblyzer imports from a scipy module that scipy has moved.
                        warnings.simplefilter("ignore", UserWarning)
                        warnings.simplefilter("ignore", DeprecationWarning)
                        from resemblyzer import VoiceEncoder

                    encoder = VoiceEncoder("cpu", verbose=False)
                    encoder.eval()
                    # The first mel spectrogram compiles librosa's kernels (≈1.5 s): pay it
                    # here rather than on someone's first verification.
                    warm = np.random.default_rng(0).normal(0, 0.05, self.sample_rate)
                    encoder.embed_utterance(warm.astype(np.float32))
                    self._encoder = encoder
        return self._encoder

    def load(self) -> None:
        """Load the model now (a worker can do this at start instead of on first use)."""
        self._loaded()

    def embed(self, samples: Samples) -> Vector:
        """The embedding of one utterance at 16 kHz (speech already checked)."""
        from resemblyzer import normalize_volume, trim_long_silences

        encoder = self._loaded()
        louder = np.clip(normalize_volume(samples, _TARGET_DBFS, increase_only=True), -1, 1)
        speech = trim_long_silences(louder.astype(np.float32))
        if len(speech) < _MIN_EMBED_SECONDS * self.sample_rate:
            raise BiometricRefused(
                "no_speech",
                _("没有检测到说话声，请靠近麦克风再说一遍。"),
                {"speech_seconds": round(len(speech) / self.sample_rate, 2)},
            )
        vector = np.asarray(encoder.embed_utterance(speech), dtype=np.float32)
        return _unit(vector)


_engine: ResemblyzerEngine | None = None
_engine_lock = threading.Lock()


def engine() -> ResemblyzerEngine:
    """This process's voice engine (one; its model loads on first use)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = ResemblyzerEngine()
        return _engine


def embed_upload(data: bytes, *, voice: ResemblyzerEngine | None = None) -> Vector:
    """Decode, check and embed one uploaded utterance."""
    voice = voice or engine()
    speech = audio.decode(data, rate=voice.sample_rate)
    return voice.embed(speech.samples)


def enrol(
    utterances: list[bytes],
    *,
    voice: ResemblyzerEngine | None = None,
    max_distance: float = ENROL_MAX_DISTANCE,
) -> Vector:
    """The template (normalised mean embedding) of 3 to 10 utterances of one speaker.

    Each utterance is checked (a refusal names it in ``details["utterance"]``, counting from
    0), and utterances that sound like different people are refused together.
    """
    if len(utterances) < ENROL_MIN_UTTERANCES:
        raise BiometricRefused(
            "too_few_utterances",
            _("请至少录制 %(n)d 段语音。") % {"n": ENROL_MIN_UTTERANCES},
            {"utterances": len(utterances), "min_utterances": ENROL_MIN_UTTERANCES},
        )
    if len(utterances) > ENROL_MAX_UTTERANCES:
        raise BiometricRefused(
            "too_many_utterances",
            _("最多录制 %(n)d 段语音。") % {"n": ENROL_MAX_UTTERANCES},
            {"utterances": len(utterances), "max_utterances": ENROL_MAX_UTTERANCES},
        )
    vectors = []
    for index, data in enumerate(utterances):
        try:
            vectors.append(embed_upload(data, voice=voice))
        except BiometricRefused as exc:
            details = {**exc.details, "utterance": index}
            raise BiometricRefused(exc.code, exc.message, details) from exc
    stacked = np.stack(vectors)
    apart = 1.0 - stacked @ stacked.T
    first, second = np.triu_indices(len(vectors), 1)
    worst = int(np.argmax(apart[first, second]))
    worst_pair = [int(first[worst]), int(second[worst])]
    worst_distance = float(apart[first[worst], second[worst]])
    if worst_distance > max_distance:
        raise BiometricRefused(
            "inconsistent_utterances",
            _("几段录音听起来不像同一个人，请由本人在安静处重新录制。"),
            {
                "utterances": worst_pair,
                "distance": round(worst_distance, 4),
                "max_distance": max_distance,
            },
        )
    return _unit(stacked.mean(axis=0))


def verify(
    template: Vector,
    probe: bytes,
    *,
    threshold: float = VOICE_THRESHOLD,
    voice: ResemblyzerEngine | None = None,
) -> VoiceMatch:
    """Check one uploaded utterance against a speaker's template."""
    voice = voice or engine()
    reference = np.asarray(template, dtype=np.float32)
    if reference.shape != (voice.dimension,):
        raise ValueError(f"a {voice.name} template has {voice.dimension} numbers")
    vector = embed_upload(probe, voice=voice)
    distance = float(1.0 - np.dot(_unit(reference), vector))
    return VoiceMatch(distance=distance, accepted=distance <= threshold, threshold=threshold)


def prompt_phrase(rng: random.Random | None = None) -> str:
    """A random string of 6–8 Mandarin digits for the speaker to read, e.g. "三七二九五一".

    No digit follows itself (a repeated digit is easily slurred into one). Without ``rng``
    the system's secure source is used, so the next prompt cannot be predicted.
    """
    rng = rng or secrets.SystemRandom()
    length = rng.randint(PROMPT_MIN, PROMPT_MAX)
    phrase = [rng.choice(DIGITS)]
    while len(phrase) < length:
        digit = rng.choice(DIGITS)
        if digit != phrase[-1]:
            phrase.append(digit)
    return "".join(phrase)


def _unit(vector: Vector) -> Vector:
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm == 0.0:
        raise BiometricRefused("no_speech", _("无法从录音中提取声纹。"))
    return np.asarray(vector / norm, dtype=np.float32)
