"""Training: one place builds a run (`build_run`: weights, network, loss, optimisers, schedule,
epoch batches), a `Trainer` that trains, evaluates and checkpoints what it is handed (one
`TrainingStep` per batch, the Eq. (2) schedule, dense evaluation, DDP under torchrun), the
cached runs the notebooks share (`train`, `run_dir`), the quick profile's pre-training on
synthetic identities (`with_pretrained`), transfer learning and the fast dev run."""

from reidlib.training.build import (
    RUNS_ROOT,
    build_run,
    build_schedule,
    build_step,
    epoch_batches,
    load_dataset,
    run_dir,
)
from reidlib.training.checkpoint import TransferReport, load_checkpoint, load_transfer
from reidlib.training.fast_dev_run import fast_dev_run
from reidlib.training.pretrain import ensure_pretrained, pretrain_config, with_pretrained
from reidlib.training.runner import load_trained, train
from reidlib.training.schedule import build_scheduler, lr_at_epoch
from reidlib.training.step import NonFiniteLossError, TrainingStep
from reidlib.training.trainer import Trainer

__all__ = [
    "RUNS_ROOT",
    "NonFiniteLossError",
    "Trainer",
    "TrainingStep",
    "TransferReport",
    "build_run",
    "build_schedule",
    "build_scheduler",
    "build_step",
    "ensure_pretrained",
    "epoch_batches",
    "fast_dev_run",
    "load_checkpoint",
    "load_dataset",
    "load_trained",
    "load_transfer",
    "lr_at_epoch",
    "pretrain_config",
    "run_dir",
    "train",
    "with_pretrained",
]
