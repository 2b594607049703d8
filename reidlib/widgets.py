"""Interactive views for JupyterLab (ipywidgets): a query browser for the rank lists of
Figure 2 and a clip browser for the attention on erased and clean frames.

Each widget redraws a figure from `reidlib.plotting` for the selected item. A notebook shows the
static figure beside it, so headless runs (papermill, nbval) and the committed figures carry the
same content; without a browser the widget is simply not drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from reidlib.evaluation.rank import EvalResult
from reidlib.plotting import plot_clip_grid, plot_rank_lists
from reidlib.types import FrameWeights, Tracklet


def _browser(count: int, draw: Callable[[int], object], *, description: str, labels=None):
    """A slider (or dropdown, with `labels`) over `count` items; the figure `draw(i)` returns is
    shown below it and replaced on every change."""
    import ipywidgets as widgets

    if labels is not None:
        picker = widgets.Dropdown(options=list(zip(labels, range(count))), description=description)
    else:
        picker = widgets.IntSlider(0, min=0, max=count - 1, description=description)
    out = widgets.Output()

    def show(change=None) -> None:
        out.outputs = ()
        out.append_display_data(draw(picker.value))  # kernel-side: the page follows

    picker.observe(show, names="value")
    show()
    return widgets.VBox([picker, out])


def query_browser(
    query: Sequence[Tracklet],
    gallery: Sequence[Tracklet],
    result: EvalResult,
    *,
    order: Sequence[int],
    attention: Callable[[Tracklet], FrameWeights],
    top_k: int = 5,
):
    """Pick a query (in `order`, e.g. worst average precision first) and see its frames and its
    top-k gallery tracklets, framed green (same identity) or red, with each frame's attention
    weight a_t (`attention(tracklet)`, e.g. `frame_attention` bound to a network).
    """
    labels = [f"query {q}: pid {query[q].pid}, AP {result.average_precision[q]:.2f}" for q in order]

    def draw(i: int):
        return plot_rank_lists(query, gallery, result, [order[i]], top_k=top_k, attention=attention)

    return _browser(len(order), draw, description="query", labels=labels)


def clip_browser(
    images: np.ndarray, *, erased: np.ndarray, weights: np.ndarray, labels: Sequence[str]
):
    """Step through training clips: each clip's frames with its erased flags and attention
    weights a_t (`attention_on_training_clips`'s `images`, `erased`, `weights`)."""

    def draw(i: int):
        return plot_clip_grid(
            images[i : i + 1], erased=erased[i : i + 1], weights=weights[i : i + 1], title=labels[i]
        )

    return _browser(len(images), draw, description="clip")
