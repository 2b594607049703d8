"""Parameters and memory of a network, the way Table II counted them and as measured.

Table II's memory columns come from torchsummary (paper ref. [39]). Its rule: hook every module
that is not a Sequential, a ModuleList or the model itself; record each hooked module's output
shape with the batch dimension replaced by -1 and take the absolute product, so a layer counts
the elements of ONE item of its own batch; "Forward/backward pass" is twice (gradients) the sum
over layers, in float32 MiB. For a video network the backbone's batch is frames, so this counts
the activations of a single frame, not of a training batch of B × T frames. `summary_footprint`
applies that rule; `measure_peak_memory` measures what training really holds.
"""

from __future__ import annotations

import gc
import math
import resource
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import torch
from torch import Tensor, nn

MIB = 2**20
FLOAT32 = 4


class Footprint(NamedTuple):
    """Memory in MiB, as torchsummary reports it (Table II's columns)."""

    input_mb: float
    forward_backward_mb: float
    params_mb: float
    total_mb: float


def count_parameters(model: nn.Module) -> int:
    """Every parameter, trainable or not (torchsummary and Table II count both)."""
    return sum(p.numel() for p in model.parameters())


def summary_footprint(model: nn.Module, input_size: tuple[int, ...]) -> Footprint:
    """Table II's memory columns by torchsummary's rule (see the module docstring).

    Args:
        model: the network; it runs once in train mode on a random batch of 2.
        input_size: one input item without the batch dimension, e.g. `(32, 3, 224, 112)` for the
            paper's 32-frame input (Table II "Input 9.19 MB" = 32·3·224·112 floats).

    Modules whose output is not a single tensor (ours: the attention block and the BNNeck head,
    which return tuples) are not counted: their tensors are counted by the leaf layers inside,
    as in the reference implementations' flat modules.
    """
    per_item, params = [], 0
    hooks = []

    def hook(module: nn.Module, _inputs, output) -> None:
        nonlocal params
        if not isinstance(output, Tensor):
            return
        per_item.append(math.prod(output.shape[1:]))  # batch dimension taken as -1, |.| = 1
        for name in ("weight", "bias"):
            value = getattr(module, name, None)
            if isinstance(value, Tensor):
                params += value.numel()

    for module in model.modules():
        if module is not model and not isinstance(module, nn.Sequential | nn.ModuleList):
            hooks.append(module.register_forward_hook(hook))
    was_training = model.training
    device = next(model.parameters()).device
    try:
        model.train()
        with torch.no_grad():
            model(torch.rand(2, *input_size, device=device))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    input_mb = math.prod(input_size) * FLOAT32 / MIB
    fwd_bwd_mb = 2 * sum(per_item) * FLOAT32 / MIB
    params_mb = params * FLOAT32 / MIB
    return Footprint(input_mb, fwd_bwd_mb, params_mb, input_mb + fwd_bwd_mb + params_mb)


def measure_peak_memory(step: Callable[[], None], *, device: torch.device) -> int:
    """Bytes of memory that `step()` adds at its peak, measured.

    On CUDA: `torch.cuda.max_memory_allocated` around the call (the caching allocator's
    view of live tensors). On CPU (Linux): the process's peak resident set size is reset
    (`/proc/self/clear_refs`) before the call and read back (`VmHWM`) after it, minus the
    resident size before; this includes allocator overhead. Where `/proc` cannot reset the peak,
    the growth of `ru_maxrss` is returned instead, which only sees steps that go beyond every
    earlier peak of the process (and of its parent, whose peak a child inherits).
    """
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        step()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - base
    try:
        before = _proc_status_kib("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    except OSError:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        step()
        return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before, 0) * 1024
    step()
    return max(_proc_status_kib("VmHWM") - before, 0) * 1024


def _proc_status_kib(field: str) -> int:
    """A `kB` field of `/proc/self/status`, e.g. `VmRSS` or `VmHWM`."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise OSError(f"/proc/self/status has no {field} line")
