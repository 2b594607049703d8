"""Query-gallery distance matrices for the test protocol (docs/decisions.md §4)."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from reidlib.choices import Metric


def _as_features(x: Tensor | np.ndarray, name: str) -> Tensor:
    t = x if isinstance(x, Tensor) else torch.as_tensor(np.asarray(x))
    if t.ndim != 2:
        raise ValueError(f"{name} must be (n, D) features, got shape {tuple(t.shape)}")
    return t if t.is_floating_point() else t.to(torch.float64)


def _inner_products(q: Tensor, g: Tensor) -> Tensor:
    """`q @ g.T`. On the CPU without autograd the product goes through NumPy's BLAS (OpenBLAS),
    which runs it about twice as fast as torch's CPU BLAS on the AMD processors this project is
    measured on (benchmarks/eval_speed.py); elsewhere torch's own matmul."""
    numpy_ok = q.dtype in (torch.float32, torch.float64)  # NumPy has no half or bfloat16
    if q.device.type == "cpu" and numpy_ok and not (q.requires_grad or g.requires_grad):
        return torch.from_numpy(q.numpy() @ g.numpy().T)
    return q @ g.T


def pairwise_distance(
    q: Tensor | np.ndarray, g: Tensor | np.ndarray, *, metric: Metric = "sqeuclidean"
) -> Tensor:
    """Distance of every query feature to every gallery feature.

    The paper's protocol ranks by squared Euclidean distance on unnormalised features, with no
    re-ranking (docs/decisions.md §4). Squared distances are ‖q‖² + ‖g‖² − 2 q·g, written
    in place into the one `(num_q, num_g)` result, and clamped at 0.

    Args:
        q: query features, `(num_q, D)`, numpy or torch, any device.
        g: gallery features, `(num_g, D)`, same device as `q`.
        metric: `"sqeuclidean"` (the protocol), `"euclidean"` (its square root: the same
            ranking) or `"cosine"` (1 − cosine similarity).

    Returns:
        The distances, `(num_q, num_g)`, a tensor on the features' device, in their common
        floating dtype.
    """
    q = _as_features(q, "q")
    g = _as_features(g, "g")
    if q.shape[1] != g.shape[1]:
        raise ValueError(f"q and g differ in feature width: {q.shape[1]} vs {g.shape[1]}")
    dtype = torch.promote_types(q.dtype, g.dtype)
    q, g = q.to(dtype), g.to(dtype)
    if metric == "cosine":
        q = q / q.norm(dim=1, keepdim=True).clamp(min=1e-12)
        g = g / g.norm(dim=1, keepdim=True).clamp(min=1e-12)
        return _inner_products(q, g).neg_().add_(1.0)  # 1 − cos
    if metric not in ("sqeuclidean", "euclidean"):
        raise ValueError(
            f"Unknown metric {metric!r}: must be 'euclidean', 'sqeuclidean' or 'cosine'"
        )
    dist = _inner_products(q, g)  # q·g
    dist.mul_(-2.0).add_(q.pow(2).sum(dim=1, keepdim=True)).add_(g.pow(2).sum(dim=1))
    dist.clamp_(min=0.0)  # ‖q − g‖² = ‖q‖² + ‖g‖² − 2 q·g
    return dist.sqrt_() if metric == "euclidean" else dist
