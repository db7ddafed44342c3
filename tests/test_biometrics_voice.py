"""Voiceprints: decoding and checks of uploads, and the Resemblyzer engine on real speech.

Real models and real recordings (the shared LibriSpeech and FSDD sets), no mocks. The
model loads once for the module.
"""

from __future__ import annotations

import io
import itertools
import os
import random
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from linli.biometrics import audio, voice
from linli.biometrics.engines import BiometricRefused
from tests.shared_data import shared

pytestmark = pytest.mark.db_independent

if os.environ.get("CI") != "true":  # in CI the voice extra must be there
    pytest.importorskip("resemblyzer", reason="the voice extra is not installed")

import soundfile as sf  # noqa: E402
import soxr  # noqa: E402

RATE = 16_000
SPEAKER = "1688"
OTHERS = ("1998", "2033", "2414", "2609", "3005", "3080")


def encode(samples: np.ndarray, rate: int, fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    """``samples`` as the bytes of an audio file."""
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def tone(seconds: float, rate: int = RATE, hz: float = 440.0, level: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def refused(data: bytes, declared_rate: int | None = None) -> BiometricRefused:
    """The refusal that decoding ``data`` raises."""
    with pytest.raises(BiometricRefused) as caught:
        audio.decode(data, declared_rate=declared_rate)
    return caught.value


@pytest.fixture(scope="module")
def engine() -> voice.ResemblyzerEngine:
    """The process's engine, loaded once for the module."""
    loaded = voice.engine()
    loaded.load()
    return loaded


@pytest.fixture(scope="module")
def librispeech() -> dict[str, list[bytes]]:
    """Each LibriSpeech speaker's 10 utterances (FLAC, 16 kHz), in file order."""
    root = shared("voices", "librispeech")
    return {
        d.name: [p.read_bytes() for p in sorted(d.glob("*.flac"))]
        for d in sorted(root.iterdir())
        if d.is_dir()
    }


@pytest.fixture(scope="module")
def fsdd() -> Path:
    return shared("voices", "fsdd")


def digit_string(folder: Path, speaker: str, takes: range) -> bytes:
    """Six of ``speaker``'s FSDD digits (8 kHz) in a row, as one WAV: like a prompt read out."""
    parts = []
    for take in takes:
        samples, rate = sf.read(folder / f"{take % 10}_{speaker}_{take}.wav", dtype="float32")
        assert rate == 8_000
        parts += [samples, np.zeros(1_200, np.float32)]
    return encode(np.concatenate(parts), 8_000)


# Enrolment and verification


def test_engine_identity_and_threads(engine: voice.ResemblyzerEngine) -> None:
    import torch

    assert (engine.name, engine.dimension, engine.metric) == ("resemblyzer-ge2e-256", 256, "cosine")
    assert engine.sample_rate == RATE
    assert torch.get_num_threads() == 1


def test_embedding_is_a_deterministic_unit_vector(
    engine: voice.ResemblyzerEngine, librispeech: dict[str, list[bytes]]
) -> None:
    first = voice.embed_upload(librispeech[SPEAKER][2], voice=engine)
    again = voice.embed_upload(librispeech[SPEAKER][2], voice=engine)
    assert first.dtype == np.float32
    assert first.shape == (256,)
    assert np.linalg.norm(first) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(first, again, atol=1e-6)


def test_enrolled_speaker_is_accepted_and_others_are_not(
    engine: voice.ResemblyzerEngine, librispeech: dict[str, list[bytes]]
) -> None:
    template = voice.enrol(librispeech[SPEAKER][2:5], voice=engine)
    assert np.linalg.norm(template) == pytest.approx(1.0, abs=1e-5)

    same = voice.verify(template, librispeech[SPEAKER][5], voice=engine)
    assert same.accepted
    assert same.threshold == voice.VOICE_THRESHOLD
    assert same.distance < voice.VOICE_THRESHOLD

    for other in OTHERS:
        match = voice.verify(template, librispeech[other][0], voice=engine)
        assert not match.accepted, other
        assert match.distance > same.distance + 0.05, other


def test_stricter_threshold_is_honoured(
    engine: voice.ResemblyzerEngine, librispeech: dict[str, list[bytes]]
) -> None:
    template = voice.enrol(librispeech[SPEAKER][2:5], voice=engine)
    match = voice.verify(template, librispeech[SPEAKER][5], threshold=0.0, voice=engine)
    assert not match.accepted
    assert match.threshold == 0.0


def test_enrolment_needs_three_utterances(librispeech: dict[str, list[bytes]]) -> None:
    with pytest.raises(BiometricRefused) as caught:
        voice.enrol(librispeech[SPEAKER][:2])
    assert caught.value.code == "too_few_utterances"
    assert caught.value.details["utterances"] == 2


def test_enrolment_of_several_people_is_refused(
    engine: voice.ResemblyzerEngine, librispeech: dict[str, list[bytes]]
) -> None:
    mixed = [librispeech[SPEAKER][2], librispeech[SPEAKER][3], librispeech["3005"][1]]
    with pytest.raises(BiometricRefused) as caught:
        voice.enrol(mixed, voice=engine)
    assert caught.value.code == "inconsistent_utterances"
    assert 2 in caught.value.details["utterances"]
    assert caught.value.details["distance"] > voice.ENROL_MAX_DISTANCE


def test_enrolment_names_the_utterance_it_refuses(
    engine: voice.ResemblyzerEngine, librispeech: dict[str, list[bytes]]
) -> None:
    silence = encode(np.zeros(3 * RATE, np.float32), RATE)
    with pytest.raises(BiometricRefused) as caught:
        voice.enrol([*librispeech[SPEAKER][2:4], silence], voice=engine)
    assert caught.value.code == "no_speech"
    assert caught.value.details["utterance"] == 2


def test_fsdd_8khz_is_resampled_and_verified(engine: voice.ResemblyzerEngine, fsdd: Path) -> None:
    george = [digit_string(fsdd, "george", range(start, start + 6)) for start in (0, 6, 12, 18)]
    speech = audio.decode(george[0])
    assert (speech.source_rate, speech.sample_rate) == (8_000, RATE)
    assert len(speech.samples) == pytest.approx(2 * speech.seconds * 8_000, abs=2)
    assert speech.speech_seconds >= audio.MIN_SPEECH_SECONDS

    template = voice.enrol(george[:3], voice=engine)
    assert voice.verify(template, george[3], voice=engine).accepted
    jackson = digit_string(fsdd, "jackson", range(0, 6))
    assert not voice.verify(template, jackson, voice=engine).accepted


@pytest.mark.parametrize(
    ("rate", "fmt", "subtype", "channels"),
    [
        (16_000, "WAV", "PCM_U8", 1),
        (16_000, "WAV", "PCM_24", 1),
        (16_000, "WAV", "PCM_32", 1),
        (16_000, "WAV", "FLOAT", 1),
        (16_000, "WAV", "ULAW", 1),
        (44_100, "WAV", "PCM_16", 2),
        (48_000, "FLAC", "PCM_16", 1),
        (16_000, "OGG", "VORBIS", 1),
        (48_000, "OGG", "OPUS", 1),
    ],
)
def test_formats_give_the_same_voice(
    engine: voice.ResemblyzerEngine,
    librispeech: dict[str, list[bytes]],
    rate: int,
    fmt: str,
    subtype: str,
    channels: int,
) -> None:
    original, original_rate = sf.read(io.BytesIO(librispeech[SPEAKER][5]), dtype="float32")
    assert original_rate == RATE
    samples = soxr.resample(original, RATE, rate) if rate != RATE else original
    if channels == 2:
        samples = np.stack([samples, 0.8 * samples], axis=1)
    speech = audio.decode(encode(samples, rate, fmt, subtype))
    assert speech.source_rate == rate
    assert speech.format == f"{fmt}/{subtype}"
    reference = voice.embed_upload(librispeech[SPEAKER][5], voice=engine)
    assert 1.0 - float(reference @ engine.embed(speech.samples)) < 0.03


def test_model_loads_once_under_concurrent_first_use() -> None:
    fresh = voice.ResemblyzerEngine()
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(fresh._loaded())) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 3
    assert seen[0] is seen[1] is seen[2]


# Refusals


def test_silence_is_no_speech() -> None:
    error = refused(encode(np.zeros(3 * RATE, np.float32), RATE))
    assert error.code == "no_speech"
    assert error.details["speech_seconds"] == 0


def test_quiet_noise_is_no_speech() -> None:
    noise = np.random.default_rng(1).normal(0, 0.01, 3 * RATE).astype(np.float32)
    assert refused(encode(noise, RATE)).code == "no_speech"


@pytest.mark.parametrize(("hz", "level"), [(440, 0.5), (300, 0.5), (2_000, 0.05)])
def test_steady_tone_is_no_speech(hz: float, level: float) -> None:
    # Loud enough for any volume gate; the VAD itself calls the 300 Hz and 2 kHz tones
    # speech, and the steady level gives them away.
    error = refused(encode(tone(3.0, hz=hz, level=level), RATE))
    assert error.code == "no_speech"
    assert error.details["level_spread_db"] < audio.MIN_LEVEL_SPREAD_DB


def test_loud_white_noise_is_no_speech() -> None:
    noise = np.random.default_rng(2).normal(0, 0.2, 3 * RATE).astype(np.float32)
    error = refused(encode(noise, RATE))
    assert error.code == "no_speech"
    assert error.details["speech_seconds"] > audio.MIN_SPEECH_SECONDS  # the VAD alone took it


def test_speech_in_noise_is_accepted(librispeech: dict[str, list[bytes]]) -> None:
    samples, _rate = sf.read(io.BytesIO(librispeech[SPEAKER][5]), dtype="float32")
    power = float(np.mean(samples**2))
    noise = np.random.default_rng(3).normal(0, np.sqrt(power / 10 ** (5 / 10)), len(samples))
    speech = audio.decode(encode((samples + noise).astype(np.float32), RATE))  # 5 dB SNR
    assert speech.speech_seconds >= audio.MIN_SPEECH_SECONDS
    assert speech.level_spread_db >= audio.MIN_LEVEL_SPREAD_DB


def test_short_tone_is_too_short() -> None:
    error = refused(encode(tone(0.2), RATE))
    assert error.code == "too_short"
    assert error.details["seconds"] == pytest.approx(0.2)


def test_one_spoken_digit_is_too_short(fsdd: Path) -> None:
    digit, rate = sf.read(fsdd / "7_lucas_3.wav", dtype="float32")
    padded = np.concatenate([np.zeros(rate // 2, np.float32), digit, np.zeros(rate, np.float32)])
    error = refused(encode(padded, rate))
    assert error.code == "too_short"
    assert 0 < error.details["speech_seconds"] < audio.MIN_SPEECH_SECONDS


def test_low_sample_rate_is_refused() -> None:
    error = refused(encode(tone(3.0, rate=4_000, hz=300), 4_000))
    assert error.code == "bad_sample_rate"
    assert error.details["sample_rate"] == 4_000


def test_header_rate_contradicted_by_byte_rate_is_refused(
    librispeech: dict[str, list[bytes]],
) -> None:
    samples, _rate = sf.read(io.BytesIO(librispeech[SPEAKER][5]), dtype="float32")
    data = bytearray(encode(samples, RATE))
    assert data[:4] == b"RIFF"
    assert data[12:16] == b"fmt "
    struct.pack_into("<I", data, 24, 48_000)  # the rate field; byte rate still says 16 kHz
    error = refused(bytes(data))
    assert error.code == "bad_sample_rate"
    assert error.details["implied_rate"] == RATE


def test_rate_other_than_declared_is_refused(librispeech: dict[str, list[bytes]]) -> None:
    error = refused(librispeech[SPEAKER][5], declared_rate=8_000)
    assert error.code == "bad_sample_rate"
    assert error.details == {"sample_rate": RATE, "declared_rate": 8_000}
    assert audio.decode(librispeech[SPEAKER][5], declared_rate=RATE).source_rate == RATE


def test_random_bytes_are_not_audio() -> None:
    noise = random.Random(7).randbytes(50_000)
    assert refused(noise).code == "not_audio"
    assert refused(b"").code == "not_audio"
    assert refused(b"RIFF\x00\x00\x00\x00WAVEfmt ").code == "not_audio"


def test_truncated_wav_is_refused(librispeech: dict[str, list[bytes]]) -> None:
    samples, _rate = sf.read(io.BytesIO(librispeech[SPEAKER][5]), dtype="float32")
    whole = encode(samples, RATE)
    error = refused(whole[: len(whole) // 2])
    assert error.code == "not_audio"
    assert error.details["reason"] == "truncated"
    assert refused(whole[:30]).code == "not_audio"


def test_unsupported_format_is_refused(librispeech: dict[str, list[bytes]]) -> None:
    samples, _rate = sf.read(io.BytesIO(librispeech[SPEAKER][5]), dtype="float32")
    error = refused(encode(samples, RATE, "AIFF", "PCM_16"))
    assert error.code == "not_audio"
    assert error.details["format"] == "AIFF/PCM_16"


def test_too_large_payload_is_refused_unread() -> None:
    minute = np.zeros((60 * 48_000, 2), np.float32)
    data = encode(minute, 48_000)
    assert len(data) > audio.MAX_BYTES
    error = refused(data)
    assert error.code == "too_large"
    assert error.details["bytes"] == len(data)


def test_too_long_recording_is_refused() -> None:
    data = encode(tone(31.0), RATE)
    assert len(data) < audio.MAX_BYTES
    error = refused(data)
    assert error.code == "too_long"
    assert error.details["seconds"] == pytest.approx(31.0)


def test_refusal_messages_are_chinese() -> None:
    error = refused(encode(np.zeros(3 * RATE, np.float32), RATE))
    assert "说话" in str(error.message)
    assert error.as_dict()["code"] == "no_speech"


# The spoken prompt


def test_prompt_phrase_is_six_to_eight_chinese_digits() -> None:
    rng = random.Random(42)
    phrases = [voice.prompt_phrase(rng) for _ in range(300)]
    assert {len(p) for p in phrases} == {6, 7, 8}
    for phrase in phrases:
        assert set(phrase) <= set(voice.DIGITS)
        assert all(a != b for a, b in itertools.pairwise(phrase))
    assert len(set(phrases)) == len(phrases)
    assert set("".join(phrases)) == set(voice.DIGITS)


def test_prompt_phrase_is_reproducible_with_a_seed_and_random_without() -> None:
    assert voice.prompt_phrase(random.Random(5)) == voice.prompt_phrase(random.Random(5))
    unseeded = {voice.prompt_phrase() for _ in range(20)}
    assert len(unseeded) >= 18  # 590,490 six-digit phrases alone
