"""The CPU speed-up `use_im2col_weight_grad`: its tiny-map paths equal nn.Conv2d, and it
changes no class, name or parameter of the network it is applied to."""

import copy

import pytest
import torch
from torch import nn

from reidlib.network import build_network
from reidlib.training.cpu_conv import _live_taps, use_im2col_weight_grad


def Conv2d(*args, **kwargs) -> nn.Conv2d:
    """A stock convolution with the speed-up applied."""
    return use_im2col_weight_grad(nn.Conv2d(*args, **kwargs))


def _grads(conv: nn.Conv2d, x: torch.Tensor, grad_out: torch.Tensor):
    x = x.clone().requires_grad_()
    conv.zero_grad()
    out = conv(x)
    out.backward(grad_out)
    return out.detach(), x.grad, conv.weight.grad.clone(), out.grad_fn


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "dilation", "channels_last", "path"),
    [
        # layer3-4's 3×3 at 32×16: one column of taps reads x
        ((2, 1), 3, 1, 1, 1, False, "_Im2colWeightGradBackward"),
        ((2, 1), 3, 1, 1, 1, True, "_TapsMatmulBackward"),
        # layer3's first 3×3, stride 2
        ((4, 2), 3, 2, 1, 1, False, "_Im2colWeightGradBackward"),
        ((1, 2), 3, 1, 1, 1, True, "_TapsMatmulBackward"),
        # the 1×1 convolutions: NCHW, x itself (no im2col copy); channels-last, matrix products
        ((2, 1), 1, 1, 0, 1, False, "_Im2colWeightGradBackward"),
        ((2, 1), 1, 1, 0, 1, True, "_TapsMatmulBackward"),
        ((1, 2), 1, 1, 0, 1, True, "_TapsMatmulBackward"),
        # layer3's downsample, 1×1 stride 2
        ((4, 2), 1, 2, 0, 1, True, "_TapsMatmulBackward"),
        ((2, 1), 3, 1, 2, 2, False, "_Im2colWeightGradBackward"),  # dilated
        ((4, 2), 3, 2, 1, 1, True, "_TapsMatmulBackward"),
        ((2, 1), 3, 1, 2, 2, True, "_TapsMatmulBackward"),
        # the one output reads the padding alone: a zero gradient (a 1×1 map is channels-last)
        ((1, 1), 1, 5, 2, 1, False, "_TapsMatmulBackward"),
    ],
)
def test_tiny_map_paths_match_stock_convolution(
    size, kernel, stride, padding, dilation, channels_last, path
):
    torch.manual_seed(0)
    conf = {"kernel_size": kernel, "stride": stride, "padding": padding, "dilation": dilation}
    fast = Conv2d(8, 6, bias=False, **conf)
    ref = nn.Conv2d(8, 6, bias=False, **conf).double()
    ref.load_state_dict(fast.state_dict())
    x = torch.randn(5, 8, *size)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    out_shape = ref(x.double()).shape
    grad_out = torch.randn(out_shape)

    out, gx, gw, fn = _grads(fast, x, grad_out)
    ref_out, ref_gx, ref_gw, _ = _grads(ref, x.double(), grad_out.double())

    assert type(fn).__name__ == path  # the path under test was taken
    torch.testing.assert_close(out.double(), ref_out, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(gx.double(), ref_gx, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(gw.double(), ref_gw, rtol=1e-5, atol=1e-5)


def test_only_the_taps_that_read_the_input_are_computed():
    # a 2×1 map, 3×3 kernel, padding 1: every row of taps reads x at one of the two output
    # rows, but only the middle column reads it (the outer columns see the padding alone)
    assert _live_taps(2, 2, 3, 1, 1, 1) == (0, 3)
    assert _live_taps(1, 1, 3, 1, 1, 1) == (1, 2)
    # layer3's first 3×3 (stride 2) on a 4×2 map: output column 0 reads columns -1, 0, 1
    assert _live_taps(2, 1, 3, 2, 1, 1) == (1, 3)
    assert _live_taps(4, 2, 3, 2, 1, 1) == (0, 3)
    assert _live_taps(1, 1, 1, 5, 2, 1) == (0, 1)  # no tap reads x: all of them, all zero


def test_hand_computed_weight_gradient_on_one_position():
    # one output position, kernel 3×3, padding 1 on a 1×1 map: only the centre tap sees x,
    # so dL/dW[o, c, 1, 1] = sum_n g[n, o] · x[n, c] and every other tap's gradient is 0
    conv = Conv2d(2, 1, kernel_size=3, padding=1, bias=False)
    x = torch.tensor([[[[1.0]], [[2.0]]], [[[3.0]], [[-1.0]]]])  # (N=2, C=2, 1, 1)
    g = torch.tensor([[[[0.5]]], [[[2.0]]]])  # (N=2, C_out=1, 1, 1)
    conv(x).backward(g)
    expected = torch.zeros(1, 2, 3, 3)
    expected[0, :, 1, 1] = torch.tensor([0.5 * 1 + 2 * 3, 0.5 * 2 + 2 * -1])
    torch.testing.assert_close(conv.weight.grad, expected)


def test_pointwise_path_with_a_bias_and_without_gradients():
    torch.manual_seed(0)
    fast = Conv2d(6, 4, kernel_size=1)
    ref = nn.Conv2d(6, 4, kernel_size=1).double()
    ref.load_state_dict(fast.state_dict())
    x = torch.randn(3, 6, 2, 1).contiguous(memory_format=torch.channels_last)
    grad_out = torch.randn(3, 4, 2, 1)
    out, gx, gw, fn = _grads(fast, x, grad_out)
    ref_out, ref_gx, ref_gw, _ = _grads(ref, x.double(), grad_out.double())
    assert type(fn).__name__ == "_TapsMatmulBackward"
    assert out.is_contiguous(memory_format=torch.channels_last)  # a view of the product
    for got, want in ((out, ref_out), (gx, ref_gx), (gw, ref_gw), (fast.bias.grad, ref.bias.grad)):
        torch.testing.assert_close(got.double(), want, rtol=1e-5, atol=1e-5)
    with torch.no_grad():  # evaluation takes the matrix product as well
        torch.testing.assert_close(fast(x).double(), ref(x.double()), rtol=1e-5, atol=1e-5)


def test_a_channels_last_bottleneck_matches_float64():
    # layer4's first block at the quick profile's 2×1 maps, every convolution as matrix
    # products over its live taps, against the stock block in float64
    torch.manual_seed(0)
    stock = build_network(num_classes=2, input_size=(32, 16)).backbone.layer4[0]
    exact = copy.deepcopy(stock).double()
    fast = use_im2col_weight_grad(copy.deepcopy(stock).to(memory_format=torch.channels_last))
    x = torch.randn(16, 1024, 2, 1, dtype=torch.float64)
    grad_out = torch.randn(16, 2048, 2, 1, dtype=torch.float64)
    results = []
    for block, xi in ((exact, x), (fast, x.float().contiguous(memory_format=torch.channels_last))):
        xi = xi.clone().requires_grad_()
        out = block(xi)
        out.backward(grad_out.to(xi.dtype))
        grads = {n: p.grad.double() for n, p in block.named_parameters()}
        results.append({"output": out.detach().double(), "input": xi.grad.double(), **grads})
    probe = torch.randn(2, 512, 2, 1).contiguous(memory_format=torch.channels_last)
    assert type(fast.conv2(probe).grad_fn).__name__ == "_TapsMatmulBackward"  # the path tested
    for name, want in results[0].items():
        torch.testing.assert_close(results[1][name], want, rtol=1e-4, atol=1e-4, msg=name)


def test_larger_maps_and_inference_use_the_stock_convolution():
    conv = Conv2d(4, 4, kernel_size=3, padding=1, bias=False)
    big = conv(torch.randn(2, 4, 8, 4))
    assert type(big.grad_fn).__name__ == "ConvolutionBackward0"
    with torch.no_grad():
        assert conv(torch.randn(2, 4, 2, 1)).grad_fn is None
    assert type(conv) is nn.Conv2d  # the class is the stock one


def test_bias_gradient_on_the_im2col_path():
    torch.manual_seed(0)
    fast = Conv2d(3, 2, kernel_size=(2, 1))  # the temporal attention's shape: map-sized kernel
    ref = nn.Conv2d(3, 2, kernel_size=(2, 1)).double()
    ref.load_state_dict(fast.state_dict())
    x, grad_out = torch.randn(4, 3, 2, 1), torch.randn(4, 2, 1, 1)
    _, _, _, fn = _grads(fast, x, grad_out)
    _grads(ref, x.double(), grad_out.double())
    assert type(fn).__name__ == "_Im2colWeightGradBackward"
    torch.testing.assert_close(fast.bias.grad.double(), ref.bias.grad)
    torch.testing.assert_close(fast.bias.grad, grad_out.sum(dim=(0, 2, 3)))


def test_applied_to_the_network_it_changes_no_class_name_or_parameter():
    torch.manual_seed(0)
    net = build_network(num_classes=3, input_size=(32, 16))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    classes = [type(m) for m in net.modules()]
    x = torch.randn(2, 2, 3, 32, 16)
    stock = net(x).logits.sum()
    stock.backward()
    stock_grads = {n: p.grad.clone() for n, p in net.named_parameters() if p.grad is not None}
    net.zero_grad()
    use_im2col_weight_grad(net)
    assert [type(m) for m in net.modules()] == classes
    assert net.state_dict().keys() == before.keys()
    fast = net(x).logits.sum()
    fast.backward()
    torch.testing.assert_close(fast, stock)
    for name, grad in stock_grads.items():
        torch.testing.assert_close(
            dict(net.named_parameters())[name].grad, grad, rtol=1e-4, atol=1e-5
        )
    convs = [m for m in net.modules() if type(m) is nn.Conv2d]
    assert all("forward" in vars(m) for m in convs)  # only the instances carry the speed-up


@pytest.mark.parametrize("weight_format", [torch.channels_last, torch.contiguous_format])
def test_weight_gradient_is_laid_out_as_the_weight(weight_format):
    # autograd copies a gradient laid out otherwise than its parameter into the parameter's
    # layout; the matrix-product path writes it in that layout, with the same values
    torch.manual_seed(0)
    fast = Conv2d(8, 6, kernel_size=3, padding=1, bias=False).to(memory_format=weight_format)
    ref = nn.Conv2d(8, 6, kernel_size=3, padding=1, bias=False).double()
    ref.load_state_dict(fast.state_dict())
    x = torch.randn(5, 8, 2, 1).contiguous(memory_format=torch.channels_last)
    grad_out = torch.randn(5, 6, 2, 1)
    out = fast(x)
    assert type(out.grad_fn).__name__ == "_TapsMatmulBackward"
    (gw,) = torch.autograd.grad(out, fast.weight, grad_out)  # as the backward returned it
    assert gw.stride() == fast.weight.stride()
    want = torch.autograd.grad(ref(x.double()), ref.weight, grad_out.double())[0]
    torch.testing.assert_close(gw.double(), want, rtol=1e-5, atol=1e-5)
