"""One place builds a run: from a configuration to a `Trainer` handed every part it uses.

`build_run` finds the weights a run starts from (the ImageNet file, checked before any data is
read; in the quick profile the stand-in pre-trained on synthetic identities, once the run's own
data have loaded), builds the network from the run's seed and loads those weights, then the
loss, the optimisers, the schedule and the epoch batches, and hands them to the trainer. The
command line, the notebooks, the fast dev run, the pre-training and the benchmarks all build
their runs here.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.optim.lr_scheduler import LRScheduler

from reidlib.config import DataConfig, RunConfig, resolve_weights
from reidlib.data import (
    RandomIdentitySampler,
    VideoDataset,
    VideoReIDDataset,
    build_dataset,
    build_train_transform,
    check_dataset,
    ensure_synthetic,
)
from reidlib.data.frame_cache import frames_dir, kept_frames
from reidlib.losses import build_loss, make_center_optimizer
from reidlib.network import VideoReIDNet, build_network
from reidlib.network.backbone import OUT_CHANNELS, load_pretrained
from reidlib.seeding import seeded
from reidlib.threads import SPIN_COUNT, SPINS, spin_waits_set
from reidlib.training.batches import EpochBatches
from reidlib.training.checkpoint import load_transfer
from reidlib.training.cpu_conv import use_im2col_weight_grad
from reidlib.training.distributed import DistInfo, init_distributed
from reidlib.training.schedule import build_scheduler
from reidlib.training.step import TrainingStep
from reidlib.training.trainer import Trainer

RUNS_ROOT = Path("runs")


def load_dataset(
    data: DataConfig, *, progress: bool = True, check: bool = False
) -> VideoReIDDataset:
    """Loads `data.dataset` from `data.root`, generating the synthetic default first if asked;
    with `check`, every frame a run reads is opened and verified first (`check_dataset`), so a
    damaged frame stops the run before its first step, not at its first evaluation.

    A relative `data.root` is taken from the working directory, as every path a user types;
    notebooks make theirs absolute against their own repository first (`reidlib.notebook`)."""
    root = Path(data.root)
    if data.synthetic:
        ensure_synthetic(root, layout=data.dataset, progress=progress)
    dataset = build_dataset(data.dataset, root, split_id=data.split_id)
    if check:
        check_dataset(dataset, progress=progress).raise_if_problems()
    return dataset


def run_dir(cfg: RunConfig, root: Path | str = RUNS_ROOT) -> Path:
    """`<root>/<dataset>-<digest>`: runs with the same settings share a folder (and a cache),
    whatever they are named (the base run and each table's base row are one run)."""
    return Path(root) / f"{cfg.data.dataset}-{cfg.digest()}"


def build_step(
    net: nn.Module,
    cfg: RunConfig,
    *,
    num_classes: int,
    device: torch.device,
    dist: DistInfo | None = None,
    feature_dim: int = OUT_CHANNELS,
) -> TrainingStep:
    """The network on `device` with the Eq. (13) loss (`build_loss` for `feature_dim`-wide
    features, initial centers from `cfg.train.seed`), Adam and the centers' SGD: one
    optimisation step a call.

    Opt-in speed-ups from `cfg.train`, applied from outside the model: channels-last, and on
    a CPU the im2col weight gradient of tiny maps (`cpu_im2col`, `reidlib.training.cpu_conv`).
    Under torchrun the network is wrapped in DDP (SyncBatchNorm on CUDA)."""
    dist = dist or DistInfo()
    centers = torch.Generator().manual_seed(cfg.train.seed)
    criterion = build_loss(
        cfg.loss, num_classes=num_classes, feature_dim=feature_dim, generator=centers
    ).to(device)
    net.to(device)
    if cfg.train.channels_last:
        net.use_channels_last()
    if cfg.train.cpu_im2col and device.type == "cpu":
        use_im2col_weight_grad(net)
    model = net
    if dist.enabled:
        if device.type == "cuda":  # SyncBatchNorm supports CUDA only
            net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
        model = DistributedDataParallel(
            net, device_ids=[device.index] if device.type == "cuda" else None
        )
    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(  # fused: one kernel for all tensors (5× on CPU)
        params, lr=cfg.train.lr, weight_decay=cfg.train.weight_decay, fused=True
    )
    return TrainingStep(
        net,
        criterion=criterion,
        optimizer=optimizer,
        center_optimizer=make_center_optimizer(criterion.center, lr=cfg.loss.center_lr),
        cfg=cfg,
        device=device,
        dist=dist,
        model=model,
    )


def build_schedule(cfg: RunConfig, optimizer: torch.optim.Optimizer) -> LRScheduler:
    """The Eq. (2) schedule of `cfg.train` on `optimizer`, stepped once an epoch."""
    train = cfg.train
    return build_scheduler(
        optimizer,
        form=train.lr_form,
        base_lr=train.lr,
        milestones=train.milestones,
        gamma=train.gamma,
        warmup_epochs=train.warmup_epochs,
        warmup_factor=train.warmup_factor,
    )


def epoch_batches(
    cfg: RunConfig,
    dataset: VideoReIDDataset,
    *,
    dist: DistInfo,
    device: torch.device,
    frame_cache: Path | None = None,
    progress: bool = True,
) -> EpochBatches:
    """The training batches of `cfg` on `dataset`'s training tracklets, epoch by epoch; their
    frames decoded once into `frame_cache` (`frames_dir`) when they fit `MAX_CACHE_BYTES`,
    else at every step."""
    data, size = cfg.data, (cfg.data.height, cfg.data.width)
    frames = kept_frames(
        dataset.train, size=size, folder=frame_cache, progress=progress and dist.is_main
    )
    sampler = RandomIdentitySampler(
        [t.pid for t in dataset.train],
        num_ids_per_batch=data.num_ids_per_batch,
        num_instances=data.num_instances,
        seed=cfg.train.seed,
    )
    clips = VideoDataset(
        dataset.train,
        clip_len=data.clip_len,
        sampling=data.sampling,
        transform=build_train_transform(size=size, erasing=data.random_erasing),
        frames=frames,
    )
    return EpochBatches(
        clips,
        sampler,
        seed=cfg.train.seed,
        dist=dist,
        num_workers=data.num_workers,
        pin_memory=device.type == "cuda",
    )


def initial_network(cfg: RunConfig, *, num_classes: int) -> tuple[VideoReIDNet, int]:
    """The network a run of `cfg` starts from, and how many tensors it took from its file: built
    from `cfg.train.seed` alone, then the backbone file `cfg.model.weights` loaded, if any (as
    `resolve_weights` and `with_pretrained` left it; nothing is looked for or trained here)."""
    with seeded(cfg.train.seed):  # the initial weights depend on the seed only
        net = build_network(
            backbone=cfg.model.backbone,
            num_classes=num_classes,
            input_size=(cfg.data.height, cfg.data.width),
            temporal=cfg.model.temporal,
            last_stride=cfg.model.last_stride,
            eq1_form=cfg.model.eq1_form,
            zero_init_residual=cfg.model.zero_init_residual,
        )
    weights_loaded = load_pretrained(net.backbone, cfg.model.weights) if cfg.model.weights else 0
    return net, weights_loaded


def build_run(
    cfg: RunConfig,
    dataset: VideoReIDDataset | None = None,
    *,
    device: torch.device | str = "cpu",
    runs_root: Path | str = RUNS_ROOT,
    out_dir: Path | str | None = None,
    progress: bool = True,
    check_data: bool = True,
) -> Trainer:
    """Builds the run `cfg` describes and returns its `Trainer`, ready to `fit`.

    Args:
        cfg: the run configuration.
        dataset: the run's dataset, already loaded; None = loaded from `cfg.data` (and, with
            `check_data`, every frame opened first).
        device: where to train; under torchrun each process takes its LOCAL_RANK GPU.
        runs_root: where runs, the quick profile's pre-training and the decoded test frames
            (`frames_dir`) are cached.
        out_dir: the run folder (checkpoints, `history.jsonl`, `config.json`); None =
            `run_dir(cfg, runs_root)`, named after the settings and the weights they start from.
        progress: progress bars.
        check_data: open every frame of a dataset loaded here before the first step.
    """
    from reidlib.training.pretrain import with_pretrained

    cfg = resolve_weights(cfg)  # a missing ImageNet file stops here, before any data is read
    if dataset is None:
        dataset = load_dataset(cfg.data, progress=progress, check=check_data)
    cfg = with_pretrained(cfg, runs_root=runs_root, device=device, progress=progress)
    dist = DistInfo.from_env()
    device = torch.device(device)
    if dist.enabled and device.type == "cuda":
        device = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(device)
    init_distributed(dist, device)
    if device.type == "cpu" and not spin_waits_set():
        warnings.warn(
            "OpenMP threads spin for milliseconds while they wait, so a CPU run sharing the "
            f"machine with other work slows down many times; start Python with {SPIN_COUNT}="
            f"{SPINS} (reidlib's command line, notebooks and make do; reidlib/threads.py)",
            stacklevel=2,
        )
    net, weights_loaded = initial_network(cfg, num_classes=dataset.num_train_pids)
    init = cfg.train.init_checkpoint
    transfer = load_transfer(net, init) if init else None
    step = build_step(net, cfg, num_classes=dataset.num_train_pids, device=device, dist=dist)
    scheduler = build_schedule(cfg, step.optimizer)
    return Trainer(
        cfg,
        step=step,
        scheduler=scheduler,
        batches=epoch_batches(
            cfg,
            dataset,
            dist=dist,
            device=device,
            frame_cache=frames_dir(runs_root),
            progress=progress,
        ),
        dataset=dataset,
        out_dir=out_dir if out_dir is not None else run_dir(cfg, runs_root),
        progress=progress,
        weights_loaded=weights_loaded,
        transfer=transfer,
        frame_cache=frames_dir(runs_root),
    )
