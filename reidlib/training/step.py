"""One optimisation step of the paper's recipe (§III-B, §III-C, §IV-B): what the trainer runs
every batch and what the Table II harness (`reidlib.memory`) measures.

Forward (bf16 autocast for `train.precision="bf16"`, CUDA only), the Eq. (13) loss (under DDP
the ranked list loss compares the whole global batch), backward, Adam with `cfg.train`'s rate
and weight decay, and the centers' own SGD step. A NaN or infinite loss stops before anything
is updated.
"""

from __future__ import annotations

import math
from dataclasses import asdict

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from reidlib.config import RunConfig
from reidlib.losses import ReIDLoss, make_center_optimizer, step_centers
from reidlib.network.backbone import OUT_CHANNELS
from reidlib.training.cpu_conv import use_im2col_weight_grad
from reidlib.training.distributed import DistInfo, gather, gather_with_grad
from reidlib.types import ReIDOutput


class NonFiniteLossError(RuntimeError):
    """A loss term went NaN or infinite. Raised before the optimiser step, so the weights, and
    every checkpoint written so far, stay as they were."""

    def __init__(
        self,
        terms: list[str],
        values: dict[str, float],
        *,
        epoch: int | None = None,
        step: int | None = None,
    ) -> None:
        self.terms, self.values, self.epoch, self.step = terms, values, epoch, step
        where = f"epoch {epoch}, step {step}: " if epoch is not None else ""
        shown = ", ".join(f"{k} {v:.4g}" for k, v in values.items())
        super().__init__(
            f"{where}loss {' and '.join(terms)} is not finite ({shown}); training stopped "
            "before the step, the last checkpoint is untouched (a lower train.lr, or "
            "train.precision='fp32', usually helps)"
        )


class TrainingStep:
    """The network on its device with its loss and optimisers; calling it trains one batch.

    On a CPU the convolutions of tiny feature maps take their weight gradient through im2col
    (`use_im2col_weight_grad`; same numbers, faster at the quick profile's 32×16).

    Args:
        net: the network (a `VideoReIDNet`, or any module returning a `ReIDOutput`).
        num_classes: N, training identities (the centers' count).
        cfg: the run configuration (`loss`, and `train.lr`, `weight_decay`, `precision`,
            `channels_last`).
        device: where to train.
        dist: the process group's layout under torchrun; None = one process.
    """

    def __init__(
        self,
        net: nn.Module,
        *,
        num_classes: int,
        cfg: RunConfig,
        device: torch.device,
        dist: DistInfo | None = None,
    ) -> None:
        if cfg.train.precision == "bf16" and device.type != "cuda":
            raise ValueError(
                f"train.precision='bf16' is bf16 autocast on CUDA; on {device} train in 'fp32'"
            )
        self.cfg, self.device, self.dist = cfg, device, dist or DistInfo()
        loss_kwargs = asdict(cfg.loss)
        center_lr = loss_kwargs.pop("center_lr")
        self.criterion = ReIDLoss(num_classes, OUT_CHANNELS, **loss_kwargs).to(device)
        net.to(device)
        if cfg.train.channels_last:
            net.use_channels_last()
        if device.type == "cpu":
            use_im2col_weight_grad(net)
        self.model: nn.Module = net  # what the forward pass calls (DDP's wrapper under DDP)
        if self.dist.enabled:
            if device.type == "cuda":  # SyncBatchNorm supports CUDA only
                net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
            ids = [device.index] if device.type == "cuda" else None
            self.model = DistributedDataParallel(net, device_ids=ids)
        self.net = net
        params = [p for p in net.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(  # fused: one kernel for all tensors (5× on CPU)
            params, lr=cfg.train.lr, weight_decay=cfg.train.weight_decay, fused=True
        )
        self.center_optimizer = make_center_optimizer(self.criterion.center, lr=center_lr)

    def autocast(self) -> torch.autocast:
        """bf16 autocast for `train.precision="bf16"` (CUDA only, checked at start); else off."""
        return torch.autocast(
            self.device.type, dtype=torch.bfloat16, enabled=self.cfg.train.precision == "bf16"
        )

    def compute_loss(
        self, out: ReIDOutput, pids: Tensor, erased: Tensor
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Eq. (13). Under DDP the ranked list loss compares the whole global batch."""
        if not self.dist.enabled:
            return self.criterion(out, pids, erased)
        return self.criterion(
            out,
            pids,
            erased,
            rll_features=gather_with_grad(out.bn_feature),
            rll_pids=gather(pids),
        )

    def release_gradients(self) -> None:
        """Frees every gradient, leaving parameters and optimiser state."""
        self.optimizer.zero_grad(set_to_none=True)
        self.center_optimizer.zero_grad(set_to_none=True)

    def __call__(self, clips: Tensor, pids: Tensor, erased: Tensor) -> dict[str, float]:
        """One optimisation step on a batch; returns every loss term as a float.

        Raises:
            NonFiniteLossError: a loss term is NaN or infinite; nothing has been updated.
        """
        clips = clips.to(self.device, non_blocking=True)
        pids = pids.to(self.device, non_blocking=True)
        erased = erased.to(self.device, non_blocking=True)
        with self.autocast():
            out = self.model(clips)
        out = ReIDOutput(*(t.float() for t in out))  # the losses run in float32
        total, terms = self.compute_loss(out, pids, erased)
        values = {k: float(v.detach()) for k, v in terms.items()}
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if self.dist.enabled:  # one process's NaN stops them all; the rest would wait forever
            flag = torch.tensor(float(not bad), device=self.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MIN)
            bad = bad or ([] if flag.item() else ["of another process"])
        if bad:
            raise NonFiniteLossError([k for k in bad if k != "total"] or bad, values)
        self.release_gradients()
        total.backward()
        if self.dist.enabled:  # the centers live outside DDP: combine their gradients by hand
            for p in self.criterion.center.parameters():
                dist.all_reduce(p.grad)
                if self.cfg.loss.center_reduction == "mean":  # a mean of means; ½Σ sums
                    p.grad /= self.dist.world_size
            pids = gather(pids)
        self.optimizer.step()
        step_centers(
            self.center_optimizer,
            self.criterion.center,
            weight=self.cfg.loss.center_weight,
            pids=pids,
        )
        return values
