"""One optimisation step of the paper's recipe (§III-B, §III-C, §IV-B): what the trainer runs
every batch and what the Table II harness (`reidlib.memory`) measures.

Forward (bf16 autocast for `train.precision="bf16"`, CUDA only), the Eq. (13) loss (under DDP
the ranked list loss compares the whole global batch), backward, Adam with `cfg.train`'s rate
and weight decay, and the centers' own SGD step. A NaN or infinite loss stops before anything
is updated.
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
from torch import Tensor, nn

from reidlib.config import RunConfig
from reidlib.losses import ReIDLoss, step_centers
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

    Built by `reidlib.training.build_step`, which makes each part from the run's configuration.

    Args:
        net: the network on `device` (a `VideoReIDNet`, or any module returning a `ReIDOutput`).
        criterion: the Eq. (13) loss (`build_loss`), on `device`.
        optimizer: the network's optimiser.
        center_optimizer: the centers' own optimiser (`make_center_optimizer`).
        cfg: the run configuration (`loss.center_weight`, `loss.center_reduction`,
            `train.precision`).
        device: where to train.
        dist: the process group's layout under torchrun; None = one process.
        model: what the forward pass calls: DDP's wrapper of `net` under DDP; None = `net`.
    """

    def __init__(
        self,
        net: nn.Module,
        *,
        criterion: ReIDLoss,
        optimizer: torch.optim.Optimizer,
        center_optimizer: torch.optim.Optimizer,
        cfg: RunConfig,
        device: torch.device,
        dist: DistInfo | None = None,
        model: nn.Module | None = None,
    ) -> None:
        if cfg.train.precision == "bf16" and device.type != "cuda":
            raise ValueError(
                f"train.precision='bf16' is bf16 autocast on CUDA; on {device} train in 'fp32'"
            )
        self.net, self.model = net, net if model is None else model
        self.criterion, self.optimizer = criterion, optimizer
        self.center_optimizer = center_optimizer
        self.cfg, self.device, self.dist = cfg, device, dist or DistInfo()

    def autocast(self) -> torch.autocast:
        """bf16 autocast for `train.precision="bf16"` (CUDA only, checked at start); else off."""
        return torch.autocast(
            self.device.type, dtype=torch.bfloat16, enabled=self.cfg.train.precision == "bf16"
        )

    def compute_loss(
        self, out: ReIDOutput, pids: Tensor, erased: Tensor
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Eq. (13). Under DDP the ranked list loss compares the whole global batch of the
        feature `loss.dml_feature` names (`ReIDLoss.metric_feature`)."""
        if not self.dist.enabled:
            return self.criterion(out, pids, erased)
        return self.criterion(
            out,
            pids,
            erased,
            rll_features=gather_with_grad(self.criterion.metric_feature(out)),
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
