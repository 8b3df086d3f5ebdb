"""Speech recognition with Whisper for videos whose corpus gives no transcript.

The GPU-side alternative to the offline pocketsphinx recogniser: a Whisper
checkpoint by hub id or local folder (``transcripts.asr.model``). Whisper's
encoder sees exactly 30 seconds, so longer tracks are cut into consecutive
30-second windows, each window is transcribed (in batches of that track's
windows only) and a track's texts are joined. Fixed windows may split a word at a
boundary; in exchange every window is independent, batched and deterministic
(greedy decoding), unlike Whisper's sequential long-form mode.

A batch never mixes two videos: a batch's size and its other members can
change a window's floating-point results (padding, kernel choice), and so its
words. One video's batches depend on that video alone, so its transcript is
the same whichever videos share its shard.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from transformers import WhisperForConditionalGeneration, WhisperProcessor
from transformers.models.whisper.tokenization_whisper import TO_LANGUAGE_CODE

from ahrec.device import inference
from ahrec.errors import ConfigError, ModelLoadError
from ahrec.media.resample import resample, to_mono
from ahrec.models import load_model

WINDOW_SECONDS = 30
MIN_TAIL_SECONDS = 0.2  # a shorter last window holds no word, only room for hallucination


def split_windows(samples: np.ndarray, sample_rate: int) -> list[np.ndarray]:
    """Consecutive 30 s windows of a waveform (a short last one is kept when it can hold speech)."""
    size = WINDOW_SECONDS * sample_rate
    windows = [samples[start : start + size] for start in range(0, len(samples), size)]
    if len(windows) > 1 and len(windows[-1]) < MIN_TAIL_SECONDS * sample_rate:
        windows.pop()
    return windows


def language_token(language: str) -> str:
    """Whisper's token for a language given as a code ("en"), a name ("english") or a token."""
    language = language.strip().lower()
    if language.startswith("<|"):
        return language
    return f"<|{TO_LANGUAGE_CODE.get(language, language)}|>"


class WhisperRecognizer:
    """A Whisper processor and model loaded once; ``transcribe`` gives one text per waveform."""

    name = "whisper"

    def __init__(
        self,
        model: str,
        language: str | None = "en",
        batch_size: int = 8,
        device: torch.device | str = "cpu",
        max_new_tokens: int | None = None,
    ) -> None:
        if not model:
            raise ModelLoadError(
                "transcripts.asr.model is empty: name a Whisper hub id (e.g. openai/whisper-small) "
                "or a local folder holding one"
            )
        processor, network = load_model(
            model,
            lambda location: (
                WhisperProcessor.from_pretrained(location),
                WhisperForConditionalGeneration.from_pretrained(location, dtype=torch.float32),
            ),
        )
        self.model_name = model
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.processor = processor
        self.sample_rate = int(processor.feature_extractor.sampling_rate)
        generation = network.generation_config
        multilingual = getattr(generation, "is_multilingual", True)
        known = getattr(generation, "lang_to_id", None) or {}
        if multilingual and language and known and language_token(language) not in known:
            names = ", ".join(sorted(token.strip("<|>") for token in known)[:20])
            raise ConfigError(
                f"transcripts.asr.language: {language!r} is not a language of {model!r} "
                f"(it knows: {names}{', ...' if len(known) > 20 else ''})"
            )
        # English-only checkpoints (*.en) refuse a language or task argument.
        self._generate_kwargs: dict[str, object] = (
            {"language": language, "task": "transcribe"} if multilingual and language else {}
        )
        if max_new_tokens is not None:
            self._generate_kwargs["max_new_tokens"] = max_new_tokens
        self.model = network.to(self.device).eval()

    def _decode_windows(self, windows: list[np.ndarray]) -> list[str]:
        texts: list[str] = []
        for start in range(0, len(windows), self.batch_size):
            batch = windows[start : start + self.batch_size]
            inputs = self.processor.feature_extractor(
                batch,
                sampling_rate=self.sample_rate,
                return_tensors="pt",
                return_attention_mask=True,
            ).to(self.device)
            with inference(self.device):
                tokens = self.model.generate(
                    inputs.input_features,
                    attention_mask=inputs.attention_mask,
                    do_sample=False,
                    **self._generate_kwargs,
                )
            decoded = self.processor.tokenizer.batch_decode(tokens, skip_special_tokens=True)
            texts.extend(text.strip() for text in decoded)
        return texts

    def transcribe(self, waveforms: Sequence[np.ndarray], sample_rate: int) -> list[str]:
        """One transcript per waveform, in order ("" for an empty waveform).

        Each waveform's windows are batched among themselves only (see the
        module's docstring): a video's text never depends on the others.
        """
        texts: list[str] = []
        for waveform in waveforms:
            samples = resample(to_mono(waveform), sample_rate, self.sample_rate)
            windows = split_windows(samples, self.sample_rate)
            pieces = self._decode_windows(windows) if windows else []
            texts.append(" ".join(text for text in pieces if text))
        return texts
