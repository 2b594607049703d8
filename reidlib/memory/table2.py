"""Table II's memory claim, three ways, as tables a notebook shows: torchsummary's rule at the
paper's size beside the paper's columns, the rule against the activations a training batch
really saves, and the measured peak of a training step, for our network and the 3D baseline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import torch

from reidlib.memory.footprint import MIB, Footprint, summary_footprint
from reidlib.memory.measure import (
    StepMemory,
    build_memory_network,
    per_frame_footprint,
    random_batch,
    saved_activation_bytes,
)
from reidlib.paper import TABLE_II
from reidlib.records import TableRow


@dataclass(frozen=True, kw_only=True)
class Column:
    """One memory column of Table II, named in each place it is read from."""

    label: str  # the paper's heading
    paper: str  # its key in a `reidlib.paper.TABLE_II` row
    footprint: str  # its field of `Footprint`


COLUMNS = (
    Column(label="Input", paper="input_mb", footprint="input_mb"),
    Column(label="Fwd/bwd pass", paper="fwd_bwd_mb", footprint="forward_backward_mb"),
    Column(label="Params", paper="params_mb", footprint="params_mb"),
    Column(label="Total", paper="total_mb", footprint="total_mb"),
)
PAPER_SIZE, PAPER_FRAMES = (224, 112), 32  # Table II's input: 32 frames of 224×112 (9.19 MB)
RULE = "rule, fwd/bwd per item"
SAVED = "saved activations (batch)"
PEAK = "measured step peak"


def rule_at_paper_size(*, num_classes: int, clip_len: int) -> dict[str, Footprint]:
    """torchsummary's rule for our network (one frame, reported for the paper's 32 frames) and
    for the 3D baseline (one training clip of `clip_len` frames), at 224×112."""
    ours = build_memory_network("ours", num_classes=num_classes, input_size=PAPER_SIZE)
    net3d = build_memory_network("3d", num_classes=num_classes, input_size=PAPER_SIZE)
    return {
        "ours, 2D (rule)": per_frame_footprint(ours, frames=PAPER_FRAMES, frame_size=PAPER_SIZE),
        "3D baseline (rule)": summary_footprint(net3d, (clip_len, 3, *PAPER_SIZE)),
    }


def memory_columns(rule: Mapping[str, Footprint]) -> pd.DataFrame:
    """The paper's memory columns (GLTR, M3D, VPRFT, Ours) above ours by the rule, in MiB."""
    paper = [
        {"method": f"{r['method'].removesuffix(' (paper)')} (paper)"}
        | {c.label: r[c.paper] for c in COLUMNS}
        for r in TABLE_II
        if "total_mb" in r
    ]
    ours = [
        {"method": name} | {c.label: getattr(fp, c.footprint) for c in COLUMNS}
        for name, fp in rule.items()
    ]
    return pd.DataFrame([*paper, *ours]).set_index("method").round(2)


def rule_vs_saved(
    *,
    num_ids: int,
    num_instances: int,
    clip_lens: Sequence[int],
    input_size: tuple[int, int],
    num_classes: int,
    device: torch.device,
    generator: torch.Generator,
) -> dict[str, dict[int, float]]:
    """For each network and T: the rule's forward/backward count of one item, and the
    activations a batch of `num_ids × num_instances` clips saves for its backward pass (MiB).

    Returns:
        curve label -> {T: MiB}, labels `"<net>: rule, fwd/bwd per item"` and
        `"<net>: saved activations, batch of B"`.
    """
    curves: dict[str, dict[int, float]] = {}
    batch = num_ids * num_instances
    for name in ("ours", "3d"):
        net = build_memory_network(name, num_classes=num_classes, input_size=input_size).to(device)
        for t in clip_lens:
            clips, _, _ = random_batch(
                num_ids=num_ids,
                num_instances=num_instances,
                clip_len=t,
                input_size=input_size,
                generator=generator,
            )
            rule = summary_footprint(net, (t, 3, *input_size)).forward_backward_mb
            curves.setdefault(f"{name}: {RULE}", {})[t] = rule
            saved = saved_activation_bytes(net, clips.to(device)) / MIB
            curves.setdefault(f"{name}: saved activations, batch of {batch}", {})[t] = saved
    return curves


def step_table(
    measured: Mapping[str, StepMemory], curves: Mapping[str, Mapping[int, float]], *, clip_len: int
) -> pd.DataFrame:
    """One row per network: the rule per item and multiplied out to the batch (B·T frames for
    ours, B clips for the 3D network), the saved activations, the measured step peak, what was
    held before the step and the parameters (MiB)."""
    rows = {}
    for name, m in measured.items():
        items = m.num_clips * (m.clip_len if name == "ours" else 1)
        saved = next(v[clip_len] for k, v in curves.items() if k.startswith(f"{name}: saved"))
        rows[name] = {
            RULE: curves[f"{name}: {RULE}"][clip_len],
            "rule × items in the batch": curves[f"{name}: {RULE}"][clip_len] * items,
            SAVED: saved,
            PEAK: m.peak_mb,
            "held before the step": m.held_mb,
            "params": m.params_mb,
        }
    return pd.DataFrame(rows).T.round(2)


def paper_vs_ours_rows(rule: Mapping[str, Footprint], step: pd.DataFrame) -> list[TableRow]:
    """`paper_vs_ours` rows: our rule against the paper's columns, the 3D rows against M3D, and
    the 3D-to-2D ratios of the rule (the paper's M3D / Ours), of the saved activations and of
    the measured peaks, with the measured peaks themselves."""
    paper = {r["method"]: r for r in TABLE_II}
    m3d, ours = paper["M3D"], paper["Ours (paper)"]
    ours_rule, rule_3d = rule["ours, 2D (rule)"], rule["3D baseline (rule)"]
    rows = [
        TableRow(
            setting="ours, torchsummary rule",
            metric=f"{c.label} (MiB)",
            paper=ours[c.paper],
            ours=getattr(ours_rule, c.footprint),
        )
        for c in COLUMNS
    ]
    rows += [
        TableRow(
            setting="3D: M3D (paper) / inflated ResNet50 (ours), rule",
            metric=f"{c.label} (MiB)",
            paper=m3d[c.paper],
            ours=getattr(rule_3d, c.footprint),
        )
        for c in COLUMNS
        if c.label != "Input"
    ]
    paper_ratio = {RULE: m3d["fwd_bwd_mb"] / ours["fwd_bwd_mb"], SAVED: None, PEAK: None}
    rows += [
        TableRow(
            setting=f"3D / 2D, {quantity}",
            metric="ratio",
            paper=value,
            ours=step.loc["3d", quantity] / step.loc["ours", quantity],
        )
        for quantity, value in paper_ratio.items()
    ]
    rows += [
        TableRow(setting=f"{name}: {PEAK}", metric="MiB", paper=None, ours=step.loc[name, PEAK])
        for name in ("ours", "3d")
    ]
    return rows
