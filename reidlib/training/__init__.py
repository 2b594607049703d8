"""Training: the paper's recipe as a `Trainer` (one `TrainingStep` per batch, the Eq. (2)
schedule, dense evaluation, resumable checkpoints, DDP under torchrun), the cached runs the
notebooks share (`train`, `run_dir`), the quick profile's pre-training on synthetic identities
(`with_pretrained`), transfer learning and the fast dev run."""

from reidlib.training.checkpoint import TransferReport, load_checkpoint, load_transfer
from reidlib.training.fast_dev_run import fast_dev_run
from reidlib.training.pretrain import ensure_pretrained, pretrain_config, with_pretrained
from reidlib.training.runner import load_dataset, load_trained, run_dir, train
from reidlib.training.schedule import build_scheduler, lr_at_epoch
from reidlib.training.step import NonFiniteLossError, TrainingStep
from reidlib.training.trainer import Trainer

__all__ = [
    "NonFiniteLossError",
    "Trainer",
    "TrainingStep",
    "TransferReport",
    "build_scheduler",
    "ensure_pretrained",
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
