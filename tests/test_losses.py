"""Losses of Eq. (3)–(13) against hand computations on tiny batches, edge cases, gradients."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from reidlib.losses import (
    CenterLoss,
    LabelSmoothingCrossEntropy,
    RankedListLoss,
    ReIDLoss,
    bnneck_like_batch,
    erasing_attention_loss,
    fit_centers,
    fit_ranked_list,
    label_smoothing_targets,
    make_center_optimizer,
    pairwise_euclidean,
    ranked_list_terms,
    step_centers,
)
from reidlib.types import ReIDOutput

SQRT2 = math.sqrt(2.0)
EPS = 1e-5  # the reference code's count/weight epsilon


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------- ID loss, Eq. (3)–(4)


def test_label_smoothing_targets_eq4():
    q = label_smoothing_targets(torch.tensor([1, 0]), 3, epsilon=0.1)
    # true class: 1 − (N−1)ε/N = 1 − 2·0.1/3 = 0.93333; others ε/N = 0.03333
    expected = torch.tensor([[0.1 / 3, 1 - 0.2 / 3, 0.1 / 3], [1 - 0.2 / 3, 0.1 / 3, 0.1 / 3]])
    torch.testing.assert_close(q, expected)
    torch.testing.assert_close(q.sum(dim=1), torch.ones(2))
    # k = 2 (the batch-size bug): 0.9 + 0.05 on the true class, 0.05 elsewhere; rows sum to 1.05
    q_batch = label_smoothing_targets(torch.tensor([1, 0]), 3, epsilon=0.1, k=2)
    torch.testing.assert_close(q_batch[0], torch.tensor([0.05, 0.95, 0.05]))
    torch.testing.assert_close(q_batch.sum(dim=1), torch.full((2,), 1.05))


# sample 1: logits (0, ln 2, 0) -> p = (1/4, 1/2, 1/4), y = 1
# sample 2: logits (0, 0, 0)    -> p = (1/3, 1/3, 1/3), y = 0
LS_LOGITS = torch.tensor([[0.0, math.log(2.0), 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
LS_PIDS = torch.tensor([1, 0])


def test_label_smoothing_cross_entropy_matches_hand_computation():
    loss = LabelSmoothingCrossEntropy(epsilon=0.1)(LS_LOGITS, LS_PIDS)
    # sample 1: 2·(0.1/3)·ln 4 + (1 − 0.2/3)·ln 2 = 0.0924196 + 0.6469374 = 0.7393570
    # sample 2: q sums to 1 and every log p = −ln 3, so the loss is ln 3 = 1.0986123
    s1 = 2 * (0.1 / 3) * math.log(4) + (1 - 0.2 / 3) * math.log(2)
    assert s1 == pytest.approx(0.7393570, abs=1e-7)
    assert loss.item() == pytest.approx((s1 + math.log(3)) / 2, rel=1e-12)


def test_label_smoothing_batch_k_reproduces_the_reference_bug():
    loss = LabelSmoothingCrossEntropy(epsilon=0.1, k="batch")(LS_LOGITS, LS_PIDS)
    # B = 2, so ε/K = 0.05: sample 1: 2·0.05·ln 4 + 0.95·ln 2 = 0.7971192; sample 2: 1.05·ln 3
    s1 = 2 * 0.05 * math.log(4) + 0.95 * math.log(2)
    assert loss.item() == pytest.approx((s1 + 1.05 * math.log(3)) / 2, rel=1e-12)


def test_label_smoothing_without_smoothing_is_cross_entropy():
    logits = torch.randn(5, 4, generator=gen(1))
    pids = torch.tensor([0, 3, 1, 1, 2])
    loss = LabelSmoothingCrossEntropy(epsilon=0.0)(logits, pids)
    torch.testing.assert_close(loss, F.cross_entropy(logits, pids))


def test_label_smoothing_rejects_unknown_k():
    with pytest.raises(ValueError, match="'classes', 'batch'"):
        LabelSmoothingCrossEntropy(k="ids")


def test_label_smoothing_gradcheck():
    logits = torch.randn(4, 3, generator=gen(2), dtype=torch.float64, requires_grad=True)
    pids = torch.tensor([0, 2, 1, 2])
    for k in ("classes", "batch"):
        loss = LabelSmoothingCrossEntropy(epsilon=0.1, k=k)
        assert torch.autograd.gradcheck(lambda x, loss=loss: loss(x, pids), (logits,))


# ------------------------------------------------------- ranked list loss, Eq. (5)–(10)

# Two ids, two samples each, on the unit circle (normalisation leaves them unchanged):
#   id 0: a = (1, 0), b = (0, 1);  id 1: c = (−1, 0), e = (0, −1)
#   d(a, b) = d(c, e) = √2 (positives); d(a, e) = d(b, c) = √2, d(a, c) = d(b, e) = 2 (negatives)
SQUARE = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]], dtype=torch.float64)
SQUARE_PIDS = torch.tensor([0, 0, 1, 1])
W_SQRT2 = math.exp(2.0 - SQRT2)  # w = exp(T(α − d)) at d = √2, T = 1


def test_pairwise_euclidean_by_hand():
    d = pairwise_euclidean(SQUARE)
    expected = torch.tensor(
        [[0, SQRT2, 2, SQRT2], [SQRT2, 0, SQRT2, 2], [2, SQRT2, 0, SQRT2], [SQRT2, 2, SQRT2, 0]],
        dtype=torch.float64,
    )
    expected.fill_diagonal_(1e-6)  # sqrt of the 1e-12 clamp
    torch.testing.assert_close(d, expected)


def test_rll_reference_variant_by_hand():
    loss_p, loss_n = ranked_list_terms(SQUARE, SQUARE_PIDS, margin=1.3, alpha=2.0)
    # every anchor: one positive at √2 > α − m = 0.7 -> L_P = (√2 − 0.7) / (1 + 1e-5)
    # negatives: one at √2 (w = e^(2−√2), L_m = 2 − √2) and the antipodal one: f/(‖f‖ + 1e-12)
    # puts it at 2 − 2e-12 < α, so it is non-trivial with w = e^0 = 1 and L_m ≈ 0
    # -> L_N = (w(2 − √2) + 1·0) / (w + 1 + 1e-5)
    lp = (SQRT2 - 0.7) / (1 + EPS)
    ln = W_SQRT2 * (2 - SQRT2) / (W_SQRT2 + 1 + EPS)
    torch.testing.assert_close(loss_p, torch.full((4,), lp, dtype=torch.float64))
    torch.testing.assert_close(loss_n, torch.full((4,), ln, dtype=torch.float64))
    loss = RankedListLoss()(SQUARE, SQUARE_PIDS)
    assert loss.item() == pytest.approx(lp + ln, rel=1e-9)  # 0.714214 + 0.376319 = 1.090533


def test_rll_paper_variant_by_hand():
    loss = RankedListLoss(variant="paper")(SQUARE, SQUARE_PIDS)
    # no 1e-5 terms: L_P = √2 − 0.7 and L_N = 2 − √2 (one non-trivial negative), sum 1.3
    assert loss.item() == pytest.approx(1.3, rel=1e-12)
    loss = RankedListLoss(variant="paper", lam=0.5)(SQUARE, SQUARE_PIDS)
    assert loss.item() == pytest.approx((SQRT2 - 0.7) + 0.5 * (2 - SQRT2), rel=1e-12)


def test_rll_both_variants_are_scale_invariant():
    # both normalise: features ×5 give the same loss (paper and reference alike)
    for variant in ("reference", "paper"):
        loss = RankedListLoss(variant=variant)
        torch.testing.assert_close(loss(5 * SQUARE, SQUARE_PIDS), loss(SQUARE, SQUARE_PIDS))


def bnneck_batch(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """8 ids x 4 clips of 2048-d features with norms near 45, as BNNeck outputs have."""
    return bnneck_like_batch(num_ids=8, per_id=4, dim=2048, norm=45.0, generator=gen(seed))


def test_rll_paper_variant_sees_negatives_on_bnneck_scale_features():
    x, pids = bnneck_batch(0)
    assert 40 < x.norm(dim=1).mean().item() < 50
    # on the raw features every other-id pair is ~60 apart, far beyond α = 2: an unnormalised
    # Eq. (7) would find no non-trivial negative and L_N would be 0
    d = torch.cdist(x, x)
    assert d[pids[:, None] != pids[None, :]].min().item() > 2.0
    # normalised, different ids sit near √2 on the sphere, inside α: L_N > 0 for every anchor
    _, loss_n = ranked_list_terms(x, pids, variant="paper")
    assert (loss_n > 0.5).all()


@pytest.mark.parametrize("variant", ["reference", "paper"])
def test_rll_learns_to_separate_the_ids(variant):
    x, pids = bnneck_batch(1)
    # SGD on the features themselves; lr 2000: the gradient of a unit-sphere loss at norm 45
    first, *_, last = fit_ranked_list(x, pids, variant=variant, steps=30, lr=2000.0)
    # the loss falls, and the ids separate: positives pulled inside α − m = 0.7 on average,
    # every negative pushed beyond where random directions sit (√2 ≈ 1.414)
    assert last["L_P"] + last["L_N"] < 0.6 * (first["L_P"] + first["L_N"])
    assert first["mean d, same id"] > 1.0 and last["mean d, same id"] < 0.7
    assert first["min d, other ids"] < 1.414 < 1.45 < last["min d, other ids"]


# id 0: a = (1, 0), a' = (1, 0) (a duplicate: d = 1e-6, a trivial positive), b = (0, 1)
# id 1: c = (−1, 0), a single sample (no positives)
TRIO = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)
TRIO_PIDS = torch.tensor([0, 0, 0, 1])


def test_rll_trivial_positives_and_single_sample_class():
    loss_p, loss_n = ranked_list_terms(TRIO, TRIO_PIDS, variant="reference")
    # reference divides by ALL positives:
    #   a, a': positives a'/a (L_m 0) and b (√2 − 0.7) -> (√2 − 0.7)/(2 + 1e-5)
    #   b: positives a, a' both at √2 -> 2(√2 − 0.7)/(2 + 1e-5)
    #   c: no positive -> L_P = 0/(0 + 1e-5) = 0
    # negatives (antipodal pairs sit at 2 − 2e-12: w = 1, L_m ≈ 0, see the test above):
    #   a, a': c antipodal -> L_N ≈ 0;  b: c at √2 -> w(2 − √2)/(w + 1e-5)
    #   c: a, a' antipodal, b at √2 -> w(2 − √2)/(w + 2 + 1e-5)
    lp1 = (SQRT2 - 0.7) / (2 + EPS)
    lp2 = 2 * (SQRT2 - 0.7) / (2 + EPS)
    torch.testing.assert_close(loss_p, torch.tensor([lp1, lp1, lp2, 0.0], dtype=torch.float64))
    ln_b = W_SQRT2 * (2 - SQRT2) / (W_SQRT2 + EPS)
    ln_c = W_SQRT2 * (2 - SQRT2) / (W_SQRT2 + 2 + EPS)
    torch.testing.assert_close(loss_n, torch.tensor([0.0, 0.0, ln_b, ln_c], dtype=torch.float64))

    loss_p, loss_n = ranked_list_terms(TRIO, TRIO_PIDS, variant="paper")
    # paper averages over the non-trivial positives P* only:
    #   a, a': P* = {b} -> √2 − 0.7; b: P* = {a, a'} -> √2 − 0.7; c: P* empty -> 0
    #   L_N without eps: 0, 0, 2 − √2, 2 − √2
    lp = SQRT2 - 0.7
    torch.testing.assert_close(loss_p, torch.tensor([lp, lp, lp, 0.0], dtype=torch.float64))
    ln = 2 - SQRT2
    torch.testing.assert_close(loss_n, torch.tensor([0.0, 0.0, ln, ln], dtype=torch.float64))


def on_circle(*chords: float) -> torch.Tensor:
    """Unit vectors at angles whose chord from (1, 0) is each of `chords` (d = 2 sin(θ/2))."""
    angles = torch.tensor([2 * math.asin(c / 2) for c in chords], dtype=torch.float64)
    return torch.stack([angles.cos(), angles.sin()], dim=1)


def test_rll_negative_weights_follow_the_temperature():
    # unit vectors: id 0 at (1, 0); id 1 at chord distances 0.5 and 1.5 from it
    x = on_circle(0.0, 0.5, 1.5)
    pids = torch.tensor([0, 1, 1])
    _, loss_n = ranked_list_terms(x, pids, variant="paper", temperature=1.0)
    # anchor 0: negatives at 0.5 (L_m 1.5, w e^1.5) and 1.5 (L_m 0.5, w e^0.5):
    # (1.5·4.481689 + 0.5·1.648721) / (4.481689 + 1.648721) = 7.546895 / 6.130410 = 1.231059
    hand = (1.5 * math.exp(1.5) + 0.5 * math.exp(0.5)) / (math.exp(1.5) + math.exp(0.5))
    assert hand == pytest.approx(1.231059, abs=1e-6)
    # anchors 0.5 and 1.5: one negative each, at 0.5 and 1.5 -> L_m 1.5 and 0.5
    torch.testing.assert_close(loss_n, torch.tensor([hand, 1.5, 0.5], dtype=torch.float64))
    _, loss_n = ranked_list_terms(x, pids, variant="paper", temperature=0.0)
    assert loss_n[0].item() == pytest.approx(1.0)  # T = 0: the plain mean of 1.5 and 0.5
    loss_p, _ = ranked_list_terms(x, pids, variant="paper")
    # id 1's two vectors: angles 2 asin(0.25) and 2 asin(0.75) apart by Δ, chord 2 sin(Δ/2)
    delta = 2 * math.asin(0.75) - 2 * math.asin(0.25)
    d_pos = 2 * math.sin(delta / 2)  # 1.0392 > α − m = 0.7
    lp = d_pos - 0.7
    torch.testing.assert_close(loss_p, torch.tensor([0.0, lp, lp], dtype=torch.float64))


def test_rll_is_zero_when_every_negative_is_far_and_positives_close():
    # reference: ids on opposite rays, normalised to (1, 0) and (−1, 0): positives d = 1e-6,
    # negatives antipodal at 2 − O(1e-12): L_m = α − d is of order 1e-12 (on the unit sphere no
    # negative is ever strictly beyond α = 2; docs/decisions.md §2.2)
    x = torch.tensor([[1.0, 0.0], [2.0, 0.0], [-1.0, 0.0], [-3.0, 0.0]], dtype=torch.float64)
    pids = torch.tensor([0, 0, 1, 1])
    loss_p, loss_n = ranked_list_terms(x, pids)
    assert loss_n.abs().max().item() < 1e-10
    assert loss_p.abs().max().item() == 0.0
    # the paper variant projects exactly onto the sphere: the antipodal pair is at exactly 2,
    # not inside α, so L_N = 0 exactly
    loss_p, loss_n = ranked_list_terms(x, pids, variant="paper")
    assert loss_n.tolist() == [0.0] * 4 and loss_p.tolist() == [0.0] * 4


def test_rll_prid_margin_makes_positives_trivial_on_the_sphere():
    # m = 0.04: the positive boundary is 1.96, and √2 positives are trivial
    loss_p, _ = ranked_list_terms(SQUARE, SQUARE_PIDS, margin=0.04)
    assert loss_p.tolist() == [0.0] * 4


def test_rll_rejects_unknown_variant():
    with pytest.raises(ValueError, match="'reference', 'paper'"):
        RankedListLoss(variant="pml")


@pytest.mark.parametrize("variant", ["reference", "paper"])
def test_rll_gradcheck(variant):
    # 6 samples of 3 ids in 3-D; seeded so that no distance sits on a hinge (α − m, α)
    x = torch.randn(6, 3, generator=gen(3), dtype=torch.float64)
    pids = torch.tensor([0, 0, 1, 1, 2, 2])
    d = pairwise_euclidean(x / x.norm(dim=1, keepdim=True))
    assert ((d - 0.7).abs().min() > 1e-3) and ((d - 2.0).abs().min() > 1e-3)
    assert (d < 2.0).sum() > 6  # some pairs are active
    loss = RankedListLoss(variant=variant)
    assert torch.autograd.gradcheck(lambda f: loss(f, pids), (x.clone().requires_grad_(),))


# ------------------------------------------------------------------ center loss, Eq. (11)


def hand_centers(reduction: str = "mean") -> CenterLoss:
    center = CenterLoss(2, 2, reduction=reduction)
    with torch.no_grad():
        center.centers.copy_(torch.tensor([[0.0, 0.0], [1.0, 1.0]]))
    return center


# f = (1, 0) and (0, 2) of id 0 (center (0, 0)), (1, 1) of id 1 (center (1, 1))
# ‖f − c‖² = 1, 4, 0 -> Σ = 5
CENTER_F = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
CENTER_PIDS = torch.tensor([0, 0, 1])


def test_center_loss_by_hand():
    assert hand_centers("mean")(CENTER_F, CENTER_PIDS).item() == pytest.approx(5 / 3)  # Σ/B
    assert hand_centers("half_sum")(CENTER_F, CENTER_PIDS).item() == pytest.approx(2.5)  # ½Σ


def test_center_init_is_randn_from_the_generator():
    a = CenterLoss(4, 3, generator=gen(7))
    torch.testing.assert_close(a.centers.detach(), torch.randn(4, 3, generator=gen(7)))


def test_step_centers_undoes_the_weight_and_takes_an_sgd_step():
    center = hand_centers("mean")
    optimizer = make_center_optimizer(center)
    beta = 5e-4
    (beta * center(CENTER_F, CENTER_PIDS)).backward()
    # ∂(β·Σ‖f − c‖²/B)/∂c_0 = −2β/3 · ((1, 0) + (0, 2)) = β·(−2/3, −4/3); c_1: f = c, grad 0
    torch.testing.assert_close(
        center.centers.grad, beta * torch.tensor([[-2 / 3, -4 / 3], [0.0, 0.0]])
    )
    step_centers(optimizer, center, weight=beta, pids=CENTER_PIDS)
    # grad / β = (−2/3, −4/3); c_0 ← (0, 0) − 0.5·(−2/3, −4/3) = (1/3, 2/3)
    torch.testing.assert_close(center.centers.detach(), torch.tensor([[1 / 3, 2 / 3], [1.0, 1.0]]))
    assert optimizer.param_groups[0]["lr"] == 0.5


def test_step_centers_leaves_the_centers_alone_when_the_center_loss_is_off():
    center = hand_centers()
    start = center.centers.detach().clone()
    (0.0 * center(CENTER_F, CENTER_PIDS)).backward()  # β = 0: a zero gradient, no 1/β
    step_centers(make_center_optimizer(center), center, weight=0.0, pids=CENTER_PIDS)
    torch.testing.assert_close(center.centers.detach(), start, rtol=0, atol=0)
    with pytest.raises(ValueError, match="weight must be >= 0"):
        step_centers(make_center_optimizer(center), center, weight=-1e-4, pids=CENTER_PIDS)


def test_step_centers_half_sum_scales_each_center_as_wen_et_al():
    center = hand_centers("half_sum")
    beta = 5e-5  # the paper's β: whatever it is, the step undoes it
    (beta * center(CENTER_F, CENTER_PIDS)).backward()
    # ½Σ: ∂/∂c_0 = Σ(c_0 − f) = −((1, 0) + (0, 2)) = (−1, −2), n_0 = 2 -> / (1 + 2)
    step_centers(make_center_optimizer(center), center, weight=beta, pids=CENTER_PIDS)
    # c_0 ← (0, 0) − 0.5·(−1, −2)/3 = (1/6, 1/3): towards the class mean (1/2, 1), not past it
    torch.testing.assert_close(center.centers.detach(), torch.tensor([[1 / 6, 1 / 3], [1.0, 1.0]]))


@pytest.mark.parametrize("reduction", ["mean", "half_sum"])
def test_centers_approach_their_class_means(reduction):
    # 8 classes x 4 fixed features; 20 center steps at the reference lr 0.5 and β 5e-4
    g = gen(11)
    pids = torch.arange(8).repeat_interleave(4)
    features = torch.randn(8, 16, generator=g)[pids] * 3 + torch.randn(32, 16, generator=g)
    distance = fit_centers(features, pids, reduction=reduction, steps=20, generator=gen(12))
    # each step moves c_j a fixed share of the way to its mean: 1/8 (mean, n_j/B) or 0.4
    # (half_sum, ½·n_j/(1 + n_j)); without the 1/(1 + n_j) scale half_sum would reflect c_j
    # about the mean at every step and the distance would never fall
    share = 4 / 32 if reduction == "mean" else 0.5 * 4 / 5
    assert distance[-1] == pytest.approx(distance[0] * (1 - share) ** 20, rel=1e-3)
    assert distance[-1] < 0.1 * distance[0]


# ------------------------------------------------------- erasing-attention loss, Eq. (12)

SCORES = torch.tensor([[1.0, 2.0, 3.0, 4.0], [0.5, 0.0, 0.0, 1.0]], dtype=torch.float64)
ERASED = torch.tensor([[True, False, False, True], [False, False, False, False]])


def test_erasing_attention_reference_form_by_hand():
    # clip 1: s_1 + s_4 = 1 + 4 = 5; clip 2: nothing erased -> 0; mean over B = 2.5
    assert erasing_attention_loss(SCORES, ERASED).item() == pytest.approx(2.5)
    assert erasing_attention_loss(SCORES, ERASED.double()).item() == pytest.approx(2.5)


def test_erasing_attention_paper_form_by_hand():
    # clip 1: a = softmax(1, 2, 3, 4); (1/T)(a_1 + a_4) = (e + e⁴) / (4(e + e² + e³ + e⁴))
    z = sum(math.exp(v) for v in (1, 2, 3, 4))
    clip1 = (math.exp(1) + math.exp(4)) / z / 4  # = 0.16706
    loss = erasing_attention_loss(SCORES, ERASED, form="paper")
    assert loss.item() == pytest.approx(clip1 / 2, rel=1e-12)


def test_erasing_attention_checks_shapes_and_form():
    with pytest.raises(ValueError, match=r"must both be \(B, T\)"):
        erasing_attention_loss(SCORES, ERASED[:, :3])
    with pytest.raises(ValueError, match="'reference' or 'paper'"):
        erasing_attention_loss(SCORES, ERASED, form="softmax")


def test_erasing_attention_gradcheck():
    s = SCORES.clone().requires_grad_()
    for form in ("reference", "paper"):
        assert torch.autograd.gradcheck(
            lambda x, f=form: erasing_attention_loss(x, ERASED, form=f), (s,)
        )


# ------------------------------------------------------------------ total loss, Eq. (13)


def square_output(
    *, logits: torch.Tensor | None = None, feature: torch.Tensor | None = None
) -> ReIDOutput:
    """The SQUARE batch as a network output (after BNNeck): 2 ids, T = 2 frames."""
    return ReIDOutput(
        logits=torch.zeros(4, 2, dtype=torch.float64) if logits is None else logits,
        feature=(
            torch.full((4, 2), 7.0, dtype=torch.float64) if feature is None else feature
        ).requires_grad_(),
        bn_feature=SQUARE.clone().requires_grad_(),
        attention_scores=torch.tensor(
            [[1.0, 3.0], [2.0, 0.0], [0.0, 0.0], [5.0, 1.0]], dtype=torch.float64
        ).requires_grad_(),
        attention_weights=torch.full((4, 2), 0.5, dtype=torch.float64),
    )


ERASED_4x2 = torch.tensor([[1, 0], [1, 1], [0, 0], [0, 1]])


def test_reid_loss_by_hand():
    criterion = ReIDLoss(2, 2).double()
    with torch.no_grad():
        criterion.center.centers.zero_()
    total, terms = criterion(square_output(), SQUARE_PIDS, ERASED_4x2)
    assert set(terms) == {"id", "rll", "center", "eatt", "total"}
    # ID: zero logits over N = 2 classes -> ln 2 whatever the smoothing
    assert terms["id"].item() == pytest.approx(math.log(2))
    # RLL (reference): (√2 − 0.7)/(1 + 1e-5) + w(2 − √2)/(w + 1 + 1e-5) for every anchor
    rll = (SQRT2 - 0.7) / (1 + EPS) + W_SQRT2 * (2 - SQRT2) / (W_SQRT2 + 1 + EPS)
    assert terms["rll"].item() == pytest.approx(rll, rel=1e-9)
    # center: unit features, zero centers -> Σ‖f‖²/B = 4/4 = 1 (reported unweighted)
    assert terms["center"].item() == pytest.approx(1.0)
    # E_att: erased scores 1, 2 + 0, 1 -> Σ = 4, mean over B = 4 -> 1
    assert terms["eatt"].item() == pytest.approx(1.0)
    expected = math.log(2) + rll + 5e-4 * 1.0 + 1.0
    assert total.item() == pytest.approx(expected, rel=1e-9)
    assert terms["total"] is total


def test_reid_loss_feeds_the_post_bn_feature_and_the_raw_scores():
    criterion = ReIDLoss(2, 2).double()
    out = square_output(logits=torch.randn(4, 2, generator=gen(6), dtype=torch.float64))
    total, _ = criterion(out, SQUARE_PIDS, ERASED_4x2)
    total.backward()
    assert out.feature.grad is None  # pre-BN feature feeds no loss (docs/decisions.md §1.3)
    assert out.bn_feature.grad.abs().sum() > 0
    # reference E_att: ∂/∂s_bt = E_bt / B
    torch.testing.assert_close(out.attention_scores.grad, ERASED_4x2.double() / 4)
    assert criterion.center.centers.grad.abs().sum() > 0


# Before BNNeck: each id's two clips antipodal, 3 times the unit vectors of the other id's axis
PRE_BN = 3.0 * torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]], dtype=torch.float64)


@pytest.mark.parametrize("dml_feature", ["bnneck", "pre_bnneck"])
def test_dml_feature_picks_what_the_ranked_list_and_center_losses_read(dml_feature):
    criterion = ReIDLoss(2, 2, dml_feature=dml_feature).double()
    with torch.no_grad():
        criterion.center.centers.zero_()
    out = square_output(feature=PRE_BN.clone())
    total, terms = criterion(out, SQUARE_PIDS, ERASED_4x2)
    if dml_feature == "bnneck":  # SQUARE, as in test_reid_loss_by_hand
        rll = (SQRT2 - 0.7) / (1 + EPS) + W_SQRT2 * (2 - SQRT2) / (W_SQRT2 + 1 + EPS)
        center = 1.0  # unit features, zero centers
    else:  # PRE_BN: the positive at d = 2, both negatives at √2 (RLL normalises, the center
        # loss does not: ‖3e‖² = 9)
        rll = (2 - 0.7) / (1 + EPS) + 2 * W_SQRT2 * (2 - SQRT2) / (2 * W_SQRT2 + EPS)
        center = 9.0
    assert terms["rll"].item() == pytest.approx(rll, rel=1e-9)
    assert terms["center"].item() == pytest.approx(center, rel=1e-9)
    assert terms["id"].item() == pytest.approx(math.log(2))  # the logits, either way
    total.backward()
    read, unread = out.bn_feature, out.feature
    if dml_feature == "pre_bnneck":
        read, unread = unread, read
    assert read.grad.abs().sum() > 0 and unread.grad is None
    assert criterion.metric_feature(out) is read


def test_dml_feature_is_checked():
    with pytest.raises(ValueError, match="Unknown DML feature 'pre_bn': must be one of"):
        ReIDLoss(2, 2, dml_feature="pre_bn")


def test_erasing_and_center_weights_of_zero_switch_their_terms_off():
    criterion = ReIDLoss(2, 2, center_weight=0.0, erasing_weight=0.0).double()
    out = square_output()
    total, terms = criterion(out, SQUARE_PIDS, ERASED_4x2)
    assert terms["eatt"].item() > 0 and terms["center"].item() > 0  # still reported
    assert total.item() == pytest.approx((terms["id"] + terms["rll"]).item(), rel=1e-12)
    total.backward()
    assert out.attention_scores.grad.abs().sum() == 0
    assert criterion.center.centers.grad.abs().sum() == 0


def test_reid_loss_options_reach_the_terms():
    criterion = ReIDLoss(
        2,
        2,
        ls_k="batch",
        rll_variant="paper",
        rll_lam=0.5,
        center_weight=5e-5,
        center_reduction="half_sum",
        erasing_weight=0.0,
        eatt_form="paper",
    ).double()
    with torch.no_grad():
        criterion.center.centers.zero_()
    total, terms = criterion(square_output(), SQUARE_PIDS, ERASED_4x2)
    # ID with K = B = 4: q = 0.9·onehot + 0.025 sums to 0.95 -> 0.95·ln 2
    assert terms["id"].item() == pytest.approx(0.95 * math.log(2))
    assert terms["rll"].item() == pytest.approx((SQRT2 - 0.7) + 0.5 * (2 - SQRT2))
    assert terms["center"].item() == pytest.approx(2.0)  # ½·Σ‖f‖² = ½·4
    expected = terms["id"] + terms["rll"] + 5e-5 * 2.0  # E_att weighted by 0
    assert total.item() == pytest.approx(expected.item(), rel=1e-12)


def test_reid_loss_gradcheck():
    criterion = ReIDLoss(3, 3, generator=gen(8)).double()
    pids = torch.tensor([0, 0, 1, 1, 2, 2])
    logits = torch.randn(6, 3, generator=gen(9), dtype=torch.float64, requires_grad=True)
    feats = torch.randn(6, 3, generator=gen(3), dtype=torch.float64, requires_grad=True)
    scores = torch.rand(6, 2, generator=gen(10), dtype=torch.float64, requires_grad=True)
    erased = torch.tensor([[1, 0], [0, 0], [0, 1], [1, 1], [0, 0], [1, 0]])

    def total(lg: torch.Tensor, f: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        out = ReIDOutput(lg, f, f, s, s.softmax(dim=1))
        return criterion(out, pids, erased)[0]

    assert torch.autograd.gradcheck(total, (logits, feats, scores))
