"""CPU speed-ups for the quick profile, applied from outside the model: convolutions on tiny
feature maps computed as matrix products where oneDNN is slow.

At the quick profile's 32×16 input, layer3 and layer4 (last stride 1) run on 2×1 maps. There
oneDNN's weight gradient is very slow on CPU: 23 ms for a 512-channel 3×3 convolution and a
batch of 128 frames (2-core AMD EPYC, torch 2.14). `use_im2col_weight_grad(net)` gives each
`nn.Conv2d` of a network a forward that, when the output has at most `IM2COL_MAX_POSITIONS`
positions, on CPU in float32:

- on a channels-last input, computes the convolution as matrix products over the kernel taps
  that read the input, forward and backward (`_TapsMatmul`): on a 2×1 map a 3×3 kernel's outer
  columns only ever read the zero padding, so three taps of nine are computed and the others'
  weight gradient is exactly 0; a 1×1 convolution is one product on the `(N·H·W, C)` view of
  the input, without a copy. The outputs are channels-last, and so are the maps the batch
  norms that follow get, which PyTorch normalises many times faster than NCHW maps of two
  positions;
- on an NCHW input, computes the weight gradient alone that way (`_weight_grad`: 4 ms instead
  of 23 for the 3×3 above), the rest with oneDNN.

Everything else (GPUs, autocast, larger maps, where oneDNN is as fast or faster) is the stock
convolution. The model's classes, parameters and names are unchanged; its numbers change only
as rounding does (IBN-a's instance norms over 2×1 maps amplify that, docs/decisions.md §3).
`build_step` applies it to CPU runs whose `train.cpu_im2col` asks for it (the quick profile,
channels-last: 0.37 s a step against 0.66 stock, benchmarks/results/quick_step_cpu.json).
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
            grad_weight = _weight_grad(grad_out, x, weight.shape, stride, padding, dilation)
        if ctx.needs_input_grad[2]:
            grad_bias = grad_out.sum(dim=(0, 2, 3))
        return grad_x, grad_weight, grad_bias, None, None, None


def _live_taps(size: int, out: int, k: int, s: int, p: int, d: int) -> tuple[int, int]:
    """The kernel taps `[first, last)` along one axis that read the input (not only its zero
    padding) at some output position; on a tiny map the others never do."""
    live = [i for i in range(k) if any(0 <= o * s - p + i * d < size for o in range(out))]
    return (live[0], live[-1] + 1) if live else (0, k)  # none: padding wider than the kernel


def _weight_grad(grad_out: Tensor, x: Tensor, shape, stride, padding, dilation) -> Tensor:
    """The convolution's weight gradient as one matrix product, `grad_out @ cols(x)ᵀ`, over the
    taps that read the input: the others' gradient is exactly 0 (they multiply the padding)."""
    n, c_out, oh, ow = grad_out.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = shape[2:], stride, padding, dilation
    h0, h1 = _live_taps(x.shape[2], oh, kh, sh, ph, dh)
    w0, w1 = _live_taps(x.shape[3], ow, kw, sw, pw, dw)
    xp = F.pad(x, (pw, pw, ph, ph)) if ph or pw else x
    slices = _tap_slices(oh, ow, (h0, h1), (w0, w1), stride, dilation)
    taps = [xp[:, :, r, q] for r, q in slices]  # each (N, C, oh, ow)
    cols = torch.stack(taps, dim=2) if len(taps) > 1 else taps[0].unsqueeze(2)  # (N, C, t, oh, ow)
    cols = cols.permute(1, 2, 0, 3, 4).reshape(-1, n * oh * ow)  # (C·t, N·L)
    g = grad_out.transpose(0, 1).reshape(c_out, -1)  # (C_out, N·L)
    live = (g @ cols.t()).reshape(c_out, x.shape[1], h1 - h0, w1 - w0)
    if (h1 - h0, w1 - w0) == (kh, kw):
        return live
    grad_weight = grad_out.new_zeros(shape)
    grad_weight[:, :, h0:h1, w0:w1] = live
    return grad_weight


def _tap_slices(
    oh: int, ow: int, rows: tuple[int, int], cols: tuple[int, int], stride, dilation
) -> list[tuple[slice, slice]]:
    """For each tap `(i, j)` of the live block, row-major, the rows and columns of the padded
    input that it reads at the `oh × ow` output positions."""
    (sh, sw), (dh, dw) = stride, dilation
    return [
        (
            slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
            slice(j * dw, j * dw + sw * (ow - 1) + 1, sw),
        )
        for i in range(*rows)
        for j in range(*cols)
    ]


class _TapsMatmul(torch.autograd.Function):
    """A convolution of a channels-last `x` on a tiny map as matrix products over the kernel
    taps that read the input, forward and backward: `cols @ Wᵀ` with `cols` the `(N·L, t·C)`
    patches of the live taps (for a 1×1 kernel, stride 1 and no padding, a view of `x` itself:
    no copy). The output and the input gradient are channels-last views of the products; the
    other taps' weight gradient is exactly 0 (they multiply the zero padding)."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias, stride, padding, dilation) -> Tensor:
        n, c, h, w = x.shape
        c_out, _, kh, kw = weight.shape
        (ph, pw), (dh, dw), (sh, sw) = padding, dilation, stride
        oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        rows, cols = _live_taps(h, oh, kh, sh, ph, dh), _live_taps(w, ow, kw, sw, pw, dw)
        pixels = (x if not (ph or pw) else F.pad(x, (pw, pw, ph, ph))).permute(0, 2, 3, 1)
        taps = _tap_slices(oh, ow, rows, cols, stride, dilation)
        if (kh, kw, sh, sw, ph, pw) == (1, 1, 1, 1, 0, 0):
            patches = pixels.reshape(-1, c)  # a view of channels-last memory
        else:
            patches = torch.cat([pixels[:, r, q, :] for r, q in taps], dim=-1).reshape(
                -1, len(taps) * c
            )
        live = weight[:, :, rows[0] : rows[1], cols[0] : cols[1]]
        kernel = live.permute(0, 2, 3, 1).reshape(c_out, -1)  # (C_out, t·C), taps row-major
        ctx.save_for_backward(patches, kernel)
        ctx.conf = (x.shape, weight.shape, rows, cols, taps, (oh, ow), padding, bias is not None)
        # the weight gradient is laid out as the weight: autograd then keeps it as it is
        # instead of copying it into the weight's layout (a 9 MB copy for layer4's 3×3)
        ctx.channels_last_weight = (
            weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
        )
        out = patches @ kernel.t() if bias is None else torch.addmm(bias, patches, kernel.t())
        return out.reshape(n, oh, ow, c_out).permute(0, 3, 1, 2)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        patches, kernel = ctx.saved_tensors
        x_shape, w_shape, rows, cols, taps, (oh, ow), (ph, pw), has_bias = ctx.conf
        n, c, h, w = x_shape
        c_out = w_shape[0]
        g = grad_out.permute(0, 2, 3, 1).reshape(-1, c_out)  # a copy only if not channels-last
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_patches = (g @ kernel).reshape(n, oh, ow, len(taps), c)
            if len(taps) == 1 and (ph, pw) == (0, 0) and (oh, ow) == (h, w):
                grad_pixels = grad_patches[:, :, :, 0]
            else:
                grad_pixels = g.new_zeros(n, h + 2 * ph, w + 2 * pw, c)
                for t, (r, q) in enumerate(taps):
                    grad_pixels[:, r, q, :] += grad_patches[:, :, :, t]
                grad_pixels = grad_pixels[:, ph : ph + h, pw : pw + w]
            grad_x = grad_pixels.permute(0, 3, 1, 2)
        if ctx.needs_input_grad[1]:
            live = (g.t() @ patches).reshape(c_out, rows[1] - rows[0], cols[1] - cols[0], c)
            if ctx.channels_last_weight:  # (C_out, kh, kw, C) memory, seen as (C_out, C, kh, kw)
                grad_weight = g.new_zeros(c_out, w_shape[2], w_shape[3], c)
                grad_weight[:, rows[0] : rows[1], cols[0] : cols[1]] = live
                grad_weight = grad_weight.permute(0, 3, 1, 2)
            else:
                grad_weight = g.new_zeros(w_shape)
                grad_weight[:, :, rows[0] : rows[1], cols[0] : cols[1]] = live.permute(0, 3, 1, 2)
        if has_bias and ctx.needs_input_grad[2]:
            grad_bias = g.sum(dim=0)
        return grad_x, grad_weight, grad_bias, None, None, None


def _on_tiny_map(conv: nn.Conv2d, x: Tensor) -> bool:
    """A float32 CPU convolution without autocast whose output has at most
    `IM2COL_MAX_POSITIONS` positions."""
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
    if _on_tiny_map(conv, x):
        if x.is_contiguous(memory_format=torch.channels_last):
            return _TapsMatmul.apply(
                x, conv.weight, conv.bias, conv.stride, conv.padding, conv.dilation
            )
        if torch.is_grad_enabled() and conv.weight.requires_grad:
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
