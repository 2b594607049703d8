"""A CPU speed-up for the quick profile, applied from outside the model: the weight gradient of
convolutions on tiny feature maps computed as im2col and one matrix product.

At the quick profile's 32×16 input, layer3 and layer4 (last stride 1) run on 2×1 maps. There
oneDNN's weight gradient is very slow on CPU: 127 ms for a 512-channel 3×3 convolution and a
batch of 128 frames, against 18 ms for the same product written as im2col (`unfold`) and one
matrix product (2-core AMD EPYC, torch 2.14); the three such convolutions of layer4 took a third
of a training step. `use_im2col_weight_grad(net)` gives each `nn.Conv2d` of a network a forward
that computes that one gradient the im2col way when the output has at most
`IM2COL_MAX_POSITIONS` positions, on CPU in float32; everything else (the forward pass, the
input gradient, GPUs, autocast, larger maps, where oneDNN is as fast or faster) is the stock
convolution. The model's classes, parameters, names and results are unchanged; `build_step`
applies it to CPU runs whose `train.cpu_im2col` asks for it (the quick profile).
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

IM2COL_MAX_POSITIONS = 2  # output H·W; at 4×2 oneDNN is as fast, at 8×4 faster (measured)


class _Im2colWeightGrad(torch.autograd.Function):
    """`F.conv2d` (groups 1) whose weight gradient is `grad_out @ im2col(x)ᵀ`."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias, stride, padding, dilation) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.conf = (stride, padding, dilation)
        return F.conv2d(x, weight, bias, stride, padding, dilation)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        x, weight = ctx.saved_tensors
        stride, padding, dilation = ctx.conf
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.ops.aten.convolution_backward(
                grad_out, x, weight, None, stride, padding, dilation,
                False, (0, 0), 1, (True, False, False),
            )[0]  # fmt: skip
        if ctx.needs_input_grad[1]:
            n, c_out = grad_out.shape[:2]
            cols = F.unfold(x, weight.shape[2:], dilation, padding, stride)  # (N, C·k·k, L)
            g = grad_out.reshape(n, c_out, -1).transpose(0, 1).reshape(c_out, -1)  # (C_out, N·L)
            cols = cols.transpose(0, 1).reshape(cols.shape[1], -1)  # (C·k·k, N·L)
            grad_weight = (g @ cols.t()).reshape(weight.shape)
        if ctx.needs_input_grad[2]:
            grad_bias = grad_out.sum(dim=(0, 2, 3))
        return grad_x, grad_weight, grad_bias, None, None, None


def _uses_im2col(conv: nn.Conv2d, x: Tensor) -> bool:
    if not (torch.is_grad_enabled() and conv.weight.requires_grad):
        return False
    if x.device.type != "cpu" or x.dtype != torch.float32 or torch.is_autocast_enabled("cpu"):
        return False
    if conv.groups != 1 or conv.padding_mode != "zeros" or isinstance(conv.padding, str):
        return False
    h, w = x.shape[-2:]
    out = [
        (size + 2 * p - d * (k - 1) - 1) // s + 1
        for size, p, d, k, s in zip(
            (h, w), conv.padding, conv.dilation, conv.kernel_size, conv.stride, strict=True
        )
    ]
    return out[0] * out[1] <= IM2COL_MAX_POSITIONS


def _forward(conv: nn.Conv2d, x: Tensor) -> Tensor:
    if _uses_im2col(conv, x):
        return _Im2colWeightGrad.apply(
            x, conv.weight, conv.bias, conv.stride, conv.padding, conv.dilation
        )
    return nn.Conv2d.forward(conv, x)


def use_im2col_weight_grad(net: nn.Module) -> nn.Module:
    """Gives every `nn.Conv2d` of `net` the im2col weight gradient on tiny CPU maps (module
    doc); returns `net`. Only the instances change, through their `forward` attribute."""
    for module in net.modules():
        if type(module) is nn.Conv2d:
            module.forward = partial(_forward, module)
    return net
