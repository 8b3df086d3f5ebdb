"""Throughput of each neural encoder's ``encode()``, and of its network alone, on synthetic inputs.

The paper's encoders (VideoMAE, EfficientNet-B0 via timm, wav2vec2,
DistilRoBERTa) are built locally with random weights at a chosen size
(``ahrec.devtools.tiny_models: SIZES``: ``tiny``, ``small`` or ``paper``, the last
being the real architectures' shapes) and loaded through the workflow's own
loader (``ahrec.embeddings.steps.build_encoder``), so what is timed is the code
a job runs: preprocessing, host-to-device copies, the forward pass, pooling.
The inputs are what the media rules hand the encoders: 16 scene frames per
video with a 224 short side, 30 face crops of 224 x 224, a mono 16 kHz track of
about ``--seconds`` seconds, a transcript of about 120 words.

Each encoder receives the videos in the groups the embedding step hands it
(``embeddings.steps.items_per_call``: the encoder's ``batch_items``, else a
fixed number per modality), after one untimed warm-up call. With ``--network``
(the default on CUDA) the network alone is timed too, on random tensors of the
input shape already on the device: the gap between the two figures is what the
CPU-side preparation costs. On CUDA the peak GPU memory of each encoder is
printed (``torch.cuda.max_memory_allocated``). The CPU seconds the process
spent per video are printed too: on a machine shared with other work they
move far less than wall-clock throughput.

    .venv/bin/python benchmarks/encoders.py --size tiny [--size small] [--device cpu]
        [--videos 16] [--seconds 10] [--encoders videomae,timm,wav2vec2,text] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lib"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from ahrec.devtools.tiny_models import build_architectures  # noqa: E402
from ahrec.embeddings import steps  # noqa: E402
from ahrec.embeddings.base import AudioItem, TextItem  # noqa: E402
from ahrec.embeddings.kinds import ENCODERS as ENCODER_KINDS  # noqa: E402
from ahrec.embeddings.kinds import parse_encoder  # noqa: E402
from ahrec.media.framestore import FrameSet  # noqa: E402

# Every neural encoder of the kind table: one added there without a configuration
# here (``encoder_config``) stops the benchmark, and its test, with a message.
ENCODERS = tuple(name for name, row in ENCODER_KINDS.rows.items() if row.neural)
MODALITY = {name: ENCODER_KINDS[name].modality for name in ENCODERS}
SENTENCE = (
    "well I am not sure whether I really want to change my diet maybe I could try to eat "
    "less sugar but it is hard because my family eats a lot of it and I do not know"
)
WORDS = SENTENCE.split(" ")


def frame_inputs(
    count: int, rng: np.random.Generator, frames: int, height: int, width: int
) -> list[FrameSet]:
    """``count`` videos of ``frames`` random uint8 RGB images of height x width."""
    return [
        FrameSet(
            f"v{i}",
            [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(frames)],
            np.arange(frames),
        )
        for i in range(count)
    ]


def scene_inputs(count: int, rng: np.random.Generator) -> list[FrameSet]:
    """16 frames per video, 224 x 398 (a 16:9 video stored with a 224 short side)."""
    return frame_inputs(count, rng, 16, 224, 398)


def face_inputs(count: int, rng: np.random.Generator) -> list[FrameSet]:
    """30 face crops of 224 x 224 per video (face.crop_size)."""
    return frame_inputs(count, rng, 30, 224, 224)


def audio_inputs(count: int, seconds: float, rng: np.random.Generator) -> list[AudioItem]:
    """Noise tracks of 0.7 to 1.3 times ``seconds`` at 16 kHz (lengths vary, as in a corpus)."""
    items = []
    for i in range(count):
        length = int(16000 * seconds * rng.uniform(0.7, 1.3))
        items.append(AudioItem(f"v{i}", rng.normal(0, 0.1, length).astype(np.float32), 16000))
    return items


def text_inputs(count: int, rng: np.random.Generator) -> list[TextItem]:
    """Transcripts of 80 to 160 words."""
    return [
        TextItem(f"v{i}", " ".join(rng.choice(WORDS, int(rng.integers(80, 160)))))
        for i in range(count)
    ]


def encoder_config(name: str, models: dict[str, Path]) -> dict[str, Any]:
    """The ``embeddings.<modality>.<name>`` entry the workflow would read."""
    if name == "videomae":
        return {"kind": "videomae", "model": str(models["videomae"])}
    if name == "timm":
        return {"kind": "timm", "architecture": "efficientnet_b0", "model": str(models["effnet"])}
    if name == "wav2vec2":
        layer = min(
            10,
            int(json.loads((models["wav2vec2"] / "config.json").read_text())["num_hidden_layers"]),
        )
        return {"kind": "wav2vec2", "model": str(models["wav2vec2"]), "layer": layer}
    if name == "transformer":
        return {"kind": "transformer", "model": str(models["distilroberta"]), "pooling": "cls"}
    raise SystemExit(
        f"benchmarks/encoders.py: no configuration for the neural encoder {name!r}; add one "
        "to encoder_config (and its tiny model to lib/ahrec/devtools/tiny_models.py: build_architectures)"
    )


def items_per_call(encoder: Any, modality: str) -> int:
    """How many videos the embedding step hands ``encode`` at once."""
    return steps.items_per_call(encoder, modality)


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], Any], device: torch.device, repeat: int = 1) -> float:
    synchronise(device)
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    synchronise(device)
    return time.perf_counter() - start


def network_alone(name: str, encoder: Any, device: torch.device, seconds: float) -> float:
    """Videos per second of the network alone, on random device tensors of the input shape."""
    from ahrec.device import inference

    model = encoder.model
    generator = torch.Generator(device="cpu").manual_seed(0)
    if name == "videomae":
        batch = encoder.spec.batch_size
        config = model.config
        shape = (batch, config.num_frames, 3, config.image_size, config.image_size)
        pixels = torch.randn(shape, generator=generator).to(device)

        def run() -> None:
            with inference(device):
                model(pixel_values=pixels)

        per_run = batch
    elif name == "timm":
        batch = encoder.spec.batch_size
        pixels = torch.randn((batch, 3, 224, 224), generator=generator).to(device)

        def run() -> None:
            with inference(device):
                model(pixels)

        per_run = batch / 30  # videos: 30 crops each
    elif name == "wav2vec2":
        batch = getattr(encoder.spec, "batch_size", 1)
        waves = torch.randn((batch, int(16000 * seconds)), generator=generator).to(device)

        def run() -> None:
            with inference(device):
                model(waves)

        per_run = batch
    else:
        batch = encoder.spec.batch_size
        length = min(encoder.max_length, 192)
        vocab = int(model.config.vocab_size)
        ids = torch.randint(3, vocab, (batch, length), generator=generator).to(device)
        mask = torch.ones_like(ids)

        def run() -> None:
            with inference(device):
                model(input_ids=ids, attention_mask=mask)

        per_run = batch
    run()  # warm-up
    repeat = 3
    return per_run * repeat / timed(run, device, repeat)


def bench_encoder(
    name: str, models: dict[str, Path], device_name: str, videos: int, seconds: float, network: bool
) -> dict[str, Any]:
    modality = MODALITY[name]
    spec, problems = parse_encoder(modality, name, encoder_config(name, models))
    if problems or spec is None:
        raise SystemExit("; ".join(problems))
    encoder = steps.build_encoder(spec, device_name)
    device = encoder.device
    rng = np.random.default_rng(0)
    inputs: Sequence[Any] = {
        "scene": lambda: scene_inputs(videos, rng),
        "face": lambda: face_inputs(videos, rng),
        "audio": lambda: audio_inputs(videos, seconds, rng),
        "text": lambda: text_inputs(videos, rng),
    }[modality]()
    group = items_per_call(encoder, modality)
    encoder.encode(inputs[: min(group, len(inputs))])  # warm-up: allocator, kernels, caches
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def encode_all() -> None:
        for start in range(0, len(inputs), group):
            encoder.encode(inputs[start : start + group])

    cpu_start = time.process_time()
    elapsed = timed(encode_all, device)
    cpu = time.process_time() - cpu_start
    result: dict[str, Any] = {
        "encoder": name,
        "videos": len(inputs),
        "per_call": group,
        "encode_videos_per_s": len(inputs) / elapsed,
        # CPU seconds of this process per video: on a shared machine, steadier than wall time
        "encode_cpu_s_per_video": cpu / len(inputs),
    }
    if device.type == "cuda":
        result["peak_gpu_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    if network:
        result["network_videos_per_s"] = network_alone(name, encoder, device, seconds)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", action="append", choices=("tiny", "small", "paper"))
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--videos", type=int, default=16, help="videos per encoder")
    parser.add_argument("--seconds", type=float, default=10.0, help="mean audio length")
    parser.add_argument("--encoders", default=",".join(ENCODERS))
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--network", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--models", type=Path, default=None, help="keep built models here")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    names = [n for n in args.encoders.split(",") if n]
    unknown = sorted(set(names) - set(ENCODERS))
    if unknown:
        parser.error(f"unknown encoders {unknown}; known: {', '.join(ENCODERS)}")
    cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    network = cuda if args.network is None else args.network
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.models or Path(scratch)
        for size in args.size or ["tiny"]:
            models = build_architectures(folder / size, size)
            for name in names:
                row = {"size": size, "device": "cuda" if cuda else "cpu"}
                row.update(
                    bench_encoder(name, models, args.device, args.videos, args.seconds, network)
                )
                results.append(row)
                line = (
                    f"{size:6s} {name:9s} {row['device']:4s} encode {row['encode_videos_per_s']:8.2f} "
                    f"videos/s, {row['encode_cpu_s_per_video']:7.3f} CPU s/video "
                    f"({row['videos']} videos, {row['per_call']} per call)"
                )
                if "network_videos_per_s" in row:
                    line += f"  network alone {row['network_videos_per_s']:8.2f} videos/s"
                if "peak_gpu_mib" in row:
                    line += f"  peak {row['peak_gpu_mib']:.0f} MiB"
                print(line, flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
