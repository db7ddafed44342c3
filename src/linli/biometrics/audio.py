"""Uploaded speech: bytes in, mono float32 samples at the engine's rate out, or a clear refusal.

WAV (any PCM width, float, or G.711), FLAC and Ogg (Vorbis, Opus) are read with
libsndfile (``soundfile``); anything else is refused before a model hears it, each problem
with its own code: not audio (or a cut-off file), too large, too long, too short, no
speech, an unusable sample rate. Size and duration are checked from the header, before the
samples are decoded.

Speech is found with the WebRTC voice activity detector (the one Resemblyzer trims with),
at its most aggressive mode, over 30 ms frames: digital silence and quiet room noise have
(almost) no voiced frames, while the shared LibriSpeech recordings are 50–89% voiced. The
detector alone takes some steady sounds for speech (a 300 Hz or 2 kHz tone, loud white
noise), so the level of the voiced frames must also move as speech does: the 90th and
10th percentiles of their level differ by at least 11.8 dB in the LibriSpeech recordings
and 30 dB in FSDD digit strings (still 4.8 dB with white noise added at 0 dB SNR), and
by under 1 dB for a tone or steady noise. Intermittent sounds (beeps) still pass.

Audio at another rate (8 kHz telephone or intercom audio, 44.1/48 kHz from phones) is
resampled to the engine's rate with libsoxr (``soxr``, its "HQ" quality, linear phase).
Several channels are averaged to one.
"""

from __future__ import annotations

import dataclasses
import io
import struct
import warnings
from typing import Any

import numpy as np
from django.utils.translation import gettext as _

from linli.biometrics.engines import BiometricRefused, Samples

MAX_BYTES = 10 * 1024 * 1024  # 30 s of 48 kHz stereo 24-bit WAV is 8.6 MB
MAX_SECONDS = 30.0
MIN_SECONDS = 1.0  # of audio
MIN_SPEECH_SECONDS = 1.0  # of voiced frames
# Fewer voiced seconds than this is "no speech" rather than "too short": tones and noise
# that the detector mostly rejects still have up to 0.12 s, while 99% of single spoken
# digits (FSDD) have more than 0.15 s.
NO_SPEECH_SECONDS = 0.15
# Voiced frames whose level varies less than this (dB between the 90th and the 10th
# percentile) are a steady sound, not speech.
MIN_LEVEL_SPREAD_DB = 3.0
MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 192_000
MAX_CHANNELS = 8
VAD_MODE = 3  # 0 (least) … 3 (most aggressive at calling a frame non-speech)
VAD_FRAME_MS = 30
# libsndfile's container names that are accepted (RF64 is WAV past 4 GB, WAVEX is WAV with
# WAVE_FORMAT_EXTENSIBLE).
FORMATS = {"WAV", "WAVEX", "RF64", "FLAC", "OGG"}

_WAVE_PCM, _WAVE_FLOAT, _WAVE_EXTENSIBLE = 0x0001, 0x0003, 0xFFFE
# A data chunk size that streaming writers leave when they cannot seek back to fill it in.
_UNKNOWN_SIZES = {0, 0xFFFFFFFF, 0x7FFFFFFF}


@dataclasses.dataclass(frozen=True)
class Speech:
    """Decoded, checked speech: samples at ``sample_rate`` and what was measured."""

    samples: Samples  # mono float32, −1 … 1
    sample_rate: int
    source_rate: int  # the rate the upload was recorded at
    format: str  # libsndfile's container and encoding, e.g. "WAV/PCM_16"
    seconds: float
    speech_seconds: float  # voiced 30-ms frames, as the VAD judged them
    level_spread_db: float  # how much the voiced frames' level varies (see the module)

    def details(self) -> dict[str, object]:
        """What was measured, for logs and error bodies."""
        return {
            "format": self.format,
            "source_rate": self.source_rate,
            "seconds": round(self.seconds, 2),
            "speech_seconds": round(self.speech_seconds, 2),
            "level_spread_db": round(self.level_spread_db, 1),
        }


@dataclasses.dataclass(frozen=True)
class Activity:
    """What the voice activity detector found in some samples."""

    speech_seconds: float
    level_spread_db: float


def decode(data: bytes, *, rate: int = 16_000, declared_rate: int | None = None) -> Speech:
    """Decode and check ``data`` as one utterance at ``rate``, or raise
    :class:`BiometricRefused`.

    ``declared_rate`` is the sample rate the sender says it recorded at (a terminal's
    metadata); a file whose header says otherwise is refused.
    """
    import soundfile

    if len(data) > MAX_BYTES:
        raise BiometricRefused(
            "too_large", _("音频文件过大。"), {"bytes": len(data), "max_bytes": MAX_BYTES}
        )
    if not data:
        raise BiometricRefused("not_audio", _("没有收到音频。"))
    _check_wav_header(data)
    try:
        with soundfile.SoundFile(io.BytesIO(data)) as sound:
            kind = f"{sound.format}/{sound.subtype}"
            if sound.format not in FORMATS:
                raise BiometricRefused(
                    "not_audio",
                    _("不支持的音频格式，请上传 WAV、FLAC 或 OGG 文件。"),
                    {"format": kind},
                )
            source_rate = sound.samplerate
            _check_rate(source_rate, declared_rate)
            if not 1 <= sound.channels <= MAX_CHANNELS:
                raise BiometricRefused(
                    "not_audio",
                    _("不支持的声道数。"),
                    {"channels": sound.channels, "max_channels": MAX_CHANNELS},
                )
            limit = int(MAX_SECONDS * source_rate)
            if sound.frames > limit:
                raise _too_long(sound.frames / source_rate)
            mono = _read_mono(sound, limit + 1)
    except BiometricRefused:
        raise
    except (soundfile.LibsndfileError, RuntimeError, ValueError, TypeError) as exc:
        raise BiometricRefused(
            "not_audio", _("无法识别的音频文件。"), {"error": str(exc)[:200]}
        ) from exc
    if not np.all(np.isfinite(mono)):
        raise BiometricRefused("not_audio", _("音频数据无效。"), {"format": kind})
    if len(mono) > limit:  # a header that under-counted its frames (or did not count them)
        raise _too_long(len(mono) / source_rate)
    seconds = len(mono) / source_rate
    if seconds < MIN_SECONDS:
        raise BiometricRefused(
            "too_short",
            _("录音过短，请至少录 %(min)d 秒。") % {"min": MIN_SECONDS},
            {"seconds": round(seconds, 2), "min_seconds": MIN_SECONDS},
        )
    resampled = resample(mono, source_rate, rate)
    found = activity(resampled, rate)
    voiced = found.speech_seconds
    speech = Speech(resampled, rate, source_rate, kind, seconds, voiced, found.level_spread_db)
    if voiced < NO_SPEECH_SECONDS or found.level_spread_db < MIN_LEVEL_SPREAD_DB:
        raise BiometricRefused(
            "no_speech", _("没有检测到说话声，请靠近麦克风再说一遍。"), speech.details()
        )
    if voiced < MIN_SPEECH_SECONDS:
        raise BiometricRefused(
            "too_short",
            _("说话时间过短，请至少说 %(min)d 秒。") % {"min": MIN_SPEECH_SECONDS},
            {**speech.details(), "min_speech_seconds": MIN_SPEECH_SECONDS},
        )
    return speech


def _read_mono(sound: Any, limit: int) -> Samples:
    """At most ``limit`` frames of ``sound``, channels averaged, read a block at a time so
    that a small compressed file cannot expand into a large array of many channels."""
    blocks = []
    remaining = limit
    for block in sound.blocks(blocksize=65_536, dtype="float32", always_2d=True):
        mono = block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
        blocks.append(np.clip(mono[:remaining], -1.0, 1.0))
        remaining -= len(blocks[-1])
        if remaining <= 0:
            break
    return np.concatenate(blocks).astype(np.float32) if blocks else np.zeros(0, np.float32)


def _too_long(seconds: float) -> BiometricRefused:
    return BiometricRefused(
        "too_long",
        _("录音过长，请控制在 %(max)d 秒以内。") % {"max": MAX_SECONDS},
        {"seconds": round(seconds, 2), "max_seconds": MAX_SECONDS},
    )


def resample(samples: Samples, source_rate: int, rate: int) -> Samples:
    """``samples`` at ``rate`` (libsoxr's "HQ" quality); unchanged if the rates agree."""
    if source_rate == rate:
        return samples
    import soxr

    return np.asarray(soxr.resample(samples, source_rate, rate, quality="HQ"), dtype=np.float32)


def activity(samples: Samples, rate: int) -> Activity:
    """Voiced seconds of ``samples`` (WebRTC VAD; ``rate``: 8, 16, 32 or 48 kHz) and how
    much the level of the voiced frames varies."""
    with warnings.catch_warnings():
        # webrtcvad 2.0.10 reads its own version through the deprecated pkg_resources.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        import webrtcvad

    size = rate * VAD_FRAME_MS // 1000
    count = len(samples) // size
    if count == 0:
        return Activity(0.0, 0.0)
    frames = np.clip(samples[: count * size], -1.0, 1.0).reshape(count, size)
    pcm = np.round(frames * 32767).astype("<i2")
    vad = webrtcvad.Vad(VAD_MODE)
    voiced = np.array([bool(vad.is_speech(frame.tobytes(), rate)) for frame in pcm])
    levels = 10 * np.log10(np.mean(np.square(frames, dtype=np.float64), axis=1) + 1e-10)
    judged = levels[voiced] if voiced.sum() >= 3 else levels
    spread = float(np.percentile(judged, 90) - np.percentile(judged, 10))
    return Activity(float(voiced.sum()) * VAD_FRAME_MS / 1000, spread)


def _check_rate(source_rate: int, declared_rate: int | None) -> None:
    if declared_rate is not None and declared_rate != source_rate:
        raise BiometricRefused(
            "bad_sample_rate",
            _("音频采样率与声明的不一致。"),
            {"sample_rate": source_rate, "declared_rate": declared_rate},
        )
    if source_rate < MIN_SAMPLE_RATE:
        raise BiometricRefused(
            "bad_sample_rate",
            _("音频采样率过低，至少需要 %(min)d Hz。") % {"min": MIN_SAMPLE_RATE},
            {"sample_rate": source_rate, "min_sample_rate": MIN_SAMPLE_RATE},
        )
    if source_rate > MAX_SAMPLE_RATE:
        raise BiometricRefused(
            "bad_sample_rate",
            _("音频采样率无效。"),
            {"sample_rate": source_rate, "max_sample_rate": MAX_SAMPLE_RATE},
        )


def _check_wav_header(data: bytes) -> None:
    """Refuse a RIFF/WAVE file whose header contradicts itself or its length.

    libsndfile plays such files anyway (it trusts the sample rate and reads what data there
    is), which would turn a cut-off upload into a shorter utterance and a header with a
    wrong rate into a voice at the wrong pitch.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return
    position = 12
    fmt: tuple[int, int, int, int, int, int] | None = None
    while position + 8 <= len(data):
        chunk, size = struct.unpack_from("<4sI", data, position)
        body = position + 8
        if chunk == b"fmt " and size >= 16 and body + 16 <= len(data):
            fmt = struct.unpack_from("<HHIIHH", data, body)
        elif chunk == b"data":
            if fmt is None:
                raise BiometricRefused("not_audio", _("WAV 文件缺少格式信息。"))
            present = len(data) - body
            if size not in _UNKNOWN_SIZES and size > present:
                raise BiometricRefused(
                    "not_audio",
                    _("音频文件不完整（可能上传中断），请重新录制。"),
                    {"reason": "truncated", "declared_bytes": size, "present_bytes": present},
                )
            break
        position = body + size + (size & 1)  # chunks are padded to an even length
    if fmt is None:
        return  # libsndfile says what is wrong with it
    tag, channels, rate, byte_rate, block_align, _bits = fmt
    if tag in (_WAVE_PCM, _WAVE_FLOAT, _WAVE_EXTENSIBLE) and byte_rate != rate * block_align:
        raise BiometricRefused(
            "bad_sample_rate",
            _("WAV 文件头中的采样率与数据速率不一致。"),
            {
                "sample_rate": rate,
                "byte_rate": byte_rate,
                "implied_rate": byte_rate // block_align if block_align else None,
                "channels": channels,
            },
        )
