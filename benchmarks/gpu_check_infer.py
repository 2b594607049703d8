"""gpu_check, test-time part: dense embedding frames/s per precision, and the evaluator.

Embedding: the dense clips of the full profile's test settings (non-overlapping clips of T
frames, at most `test_max_clips` a tracklet, `eval_chunk` clips a forward pass, each tracklet the
mean of its clips' embeddings, as `extract_features` computes it from files) over random
tracklets already on the device, each as long as the cap allows, in
fp32, fp32 channels-last (the full profile) and bf16 autocast channels-last, from the same
weights; frames/s counts the frames of the dense clips. Evaluator: squared Euclidean distances on
the device, then CMC and mAP (`reidlib.evaluation.evaluate`) on features with MARS's
identity/camera structure (`eval_speed.mars_like`) at MARS's test size.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch
import torch.nn.functional as F
from common import Deadline, sync
from eval_speed import mars_like, ours
from torch import Tensor

from reidlib.config import RunConfig
from reidlib.data import dense_clip_indices
from reidlib.memory.footprint import MIB
from reidlib.network import build_network

EMBED_MODES = {
    "fp32": {"bf16": False, "channels_last": False},
    "fp32_channels_last": {"bf16": False, "channels_last": True},  # the full profile
    "bf16_channels_last": {"bf16": True, "channels_last": True},
}


@torch.no_grad()
def embed_dense(net, frames: Tensor, *, clip_len: int, max_clips: int | None, chunk: int) -> Tensor:
    """One tracklet's frames `(n, C, H, W)` on the device -> the mean embedding of its dense
    clips, `chunk` clips per forward pass."""
    clips = dense_clip_indices(len(frames), clip_len=clip_len, max_clips=max_clips)
    order = torch.as_tensor(clips, device=frames.device)  # `(n_clips, T)`
    return torch.cat([net.embed(frames[c]) for c in order.split(chunk)]).float().mean(dim=0)


def time_embedding(
    cfg: RunConfig,
    mode: str,
    *,
    num_classes: int,
    tracklets: int,
    repeats: int,
    clip_flops: int,
    device: torch.device,
) -> tuple[dict[str, Any], Tensor]:
    """Frames/s of dense embedding in one mode, and its embeddings (CPU, float32).

    Args:
        cfg: the full profile (or its tiny version).
        mode: a key of `EMBED_MODES`.
        num_classes: N (the classifier is not used at test time, but is part of the network).
        tracklets: random tracklets embedded per pass, each `test_max_clips × T` frames long.
        repeats: timed passes after one warm-up pass.
        clip_flops: FLOPs of one dense clip (`cost_plan.embedding_flops`), for TFLOP/s.
        device: where to embed.
    """
    settings, data = EMBED_MODES[mode], cfg.data
    torch.manual_seed(0)  # the same weights in every mode
    net = build_network(
        backbone=cfg.model.backbone,
        num_classes=num_classes,
        input_size=(data.height, data.width),
        last_stride=cfg.model.last_stride,
    )
    net.to(device).eval()
    if settings["channels_last"]:
        net.use_channels_last()
    gen = torch.Generator().manual_seed(0)
    length = data.test_max_clips * data.clip_len  # the longest tracklet the cap embeds whole
    frames = [
        torch.randn(length, 3, data.height, data.width, generator=gen).to(device)
        for _ in range(tracklets)
    ]

    def run() -> Tensor:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=settings["bf16"]):
            rows = [
                embed_dense(
                    net,
                    f,
                    clip_len=data.clip_len,
                    max_clips=data.test_max_clips,
                    chunk=cfg.train.eval_chunk,
                )
                for f in frames
            ]
        return torch.stack(rows)

    sync(device)
    start = time.perf_counter()
    run()  # warm-up: cuDNN's algorithm search, the allocator
    sync(device)
    warmup_s = time.perf_counter() - start
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        emb = run()
        sync(device)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    clips = tracklets * data.test_max_clips
    record = {
        "mode": mode,
        **settings,
        "warmup_s": warmup_s,
        "pass_s": times,
        "clips_per_pass": clips,
        "frames_per_s": clips * data.clip_len / median,
        "clips_per_s": clips / median,
        "achieved_tflops": clip_flops * clips / median / 1e12,
        "peak_allocated_mib": torch.cuda.max_memory_allocated(device) / MIB
        if device.type == "cuda"
        else None,
    }
    print(f"embedding {mode}: {record['frames_per_s']:.0f} frames/s")
    return record, emb.float().cpu()


def agreement(embeddings: dict[str, Tensor], reference: str) -> dict[str, float]:
    """Smallest cosine similarity of each mode's tracklet embeddings to `reference`'s."""
    return {
        name: float(F.cosine_similarity(emb, embeddings[reference], dim=1).min())
        for name, emb in embeddings.items()
    }


def time_evaluator(
    *, num_q: int, num_g: int, device: torch.device, repeats: int, deadline: Deadline
) -> dict[str, Any]:
    """Seconds of distances + CMC + mAP for `num_q` × `num_g` MARS-like features, D = 2048."""
    data = mars_like(device=device, num_q=num_q, num_g=num_g)
    _, cmc, mAP = ours(data)  # warm-up: thread pools, allocator, CUDA kernels
    times = []
    for _ in range(repeats):
        if deadline.passed:
            break
        sync(device)
        start = time.perf_counter()
        ours(data)  # CMC and mAP come back as numpy: the device has finished
        times.append(time.perf_counter() - start)
    median = statistics.median(times) if times else None
    print(f"evaluator {num_q} x {num_g} on {device.type}: {median} s median")
    return {
        "num_q": num_q,
        "num_g": num_g,
        "total_s": times,
        "median_s": median,
        "rank1": float(cmc[0]),
        "mAP": float(mAP),
        "where": "distances on the device; ranking (np.sort, binary searches) on the CPU, as "
        "reidlib.evaluation.rank does for every device",
    }
