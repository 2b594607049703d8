"""What the notebooks call beyond the core library: chance level, configuration differences,
the notebook setup, training curves, rank-list pictures and the attention probe."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from reidlib.config import config_diff, load_profile
from reidlib.evaluation import QueryOutcomes
from reidlib.evaluation.protocol import chance_rank1
from reidlib.evaluation.rank import EvalResult
from reidlib.notebook import notebook_repo, start_notebook
from reidlib.plotting import (
    best_and_worst_queries,
    plot_attention_by_erasing,
    plot_loss_terms,
    plot_lr,
    plot_metrics,
    plot_rank_lists,
)
from reidlib.plotting.rank_lists import MATCH, NON_MATCH
from reidlib.results import show_number, show_table

REPO = Path(__file__).resolve().parents[1]


def test_chance_rank1_by_hand():
    # query 0 (pid 1, cam 0): gallery pid 1 cam 0 removed; left pid 1 cam 1, pid 2, pid 3
    #   -> 1 true match among 3 items = 1/3
    # query 1 (pid 2, cam 1): gallery pid 2 cam 0 is a true match; all 4 items remain -> 1/4
    # query 2 (pid 9): no true match -> skipped
    g_pids, g_cams = np.array([1, 1, 2, 3]), np.array([0, 1, 0, 0])
    q_pids, q_cams = np.array([1, 2, 9]), np.array([0, 1, 0])
    assert chance_rank1(q_pids, g_pids, q_cams, g_cams) == pytest.approx(100 * (1 / 3 + 1 / 4) / 2)


def test_config_diff_lists_exactly_what_the_quick_profile_changes():
    full, quick = load_profile("full"), load_profile("quick")
    rows = {r["setting"]: (r["base"], r["other"]) for r in config_diff(full, quick)}
    assert rows["data.root"] == ("data/mars", "data/synthetic/mars")
    assert rows["train.epochs"] == (120, quick.train.epochs)
    assert "model.backbone" not in rows  # the quick profile keeps the paper's network
    assert config_diff(full, full) == []


def test_table_rows_train_as_the_base_run():
    """Fine-tuning from the pre-trained stand-in takes 8 epochs, so every table row trains with
    its profile's schedule and a table's base row is the base run (one run, shared)."""
    for profile in ("quick", "full"):
        base = load_profile(profile)
        rows = [load_profile(profile, preset=p) for p in ("table1_resnet50_ibn_a", "table3_t4")]
        assert rows[0].digest() == rows[1].digest() == base.digest()
        assert config_diff(base, load_profile(profile, preset="table3_t8")) == [
            {"setting": "data.clip_len", "base": 4, "other": 8}
        ]


def test_start_notebook_resolves_folders_and_seeds(tmp_path):
    nb = start_notebook("99_probe", device="cpu", seed=3, out_dir=str(tmp_path / "out"))
    assert nb.out_dir == tmp_path / "out" and nb.out_dir.is_dir()
    assert nb.generator.initial_seed() == 3
    cfg = nb.config("table3_t8")
    assert cfg.data.clip_len == 8 and cfg.train.seed == 3 and cfg.data.root.endswith("mars")
    nb = start_notebook(
        "99_probe", device="cpu", data_root=str(tmp_path / "mine"), out_dir=str(tmp_path / "o2")
    )
    assert nb.config().data.root == str(tmp_path / "mine")
    # SPLITS as papermill's -p passes a number-like value: an int
    nb = start_notebook("99_probe", device="cpu", splits=3, out_dir=str(tmp_path / "o3"))
    assert nb.splits == (3,) and nb.config(dataset="prid2011").data.split_id == 3
    assert nb.config(dataset="prid2011").data.root == str(REPO / "data/synthetic/prid2011")
    assert nb.config().model.weights_dir == str(REPO / "data/weights")
    with pytest.raises(ValueError, match="PROFILE"):
        start_notebook("99_probe", profile="huge")


def test_a_notebook_in_another_copy_of_the_repository_uses_that_copy(tmp_path, monkeypatch):
    copy = tmp_path / "copy"
    (copy / "notebooks").mkdir(parents=True)
    (copy / "pyproject.toml").write_text("")
    monkeypatch.chdir(copy / "notebooks")  # Jupyter and papermill run a notebook in its folder
    nb = start_notebook("99_probe", device="cpu", weights_dir="w")
    assert nb.repo == copy.resolve() != REPO
    assert nb.out_dir == copy.resolve() / "figures" / "quick" / "99_probe" and nb.out_dir.is_dir()
    cfg = nb.config()
    assert cfg.data.root == str(copy.resolve() / "data" / "synthetic" / "mars")
    assert cfg.model.weights_dir == str(copy.resolve() / "w")
    assert notebook_repo(tmp_path) == tmp_path.resolve()  # no repository above: the folder itself


HISTORY = [
    {"epoch": 1, "lr": 1e-4, "id": 3.0, "rll": 1.3, "center": 900.0, "eatt": 0.4, "total": 6.0},
    {
        "epoch": 2,
        "lr": 2e-4,
        "id": 2.0,
        "rll": 1.1,
        "center": 500.0,
        "eatt": 0.0,
        "total": 3.5,
        "rank1": 40.0,
        "mAP": 30.0,
    },
]


def test_training_curves_plot_the_logged_values(tmp_path):
    fig = plot_loss_terms({"run": HISTORY}, out=tmp_path / "terms.png")
    assert (tmp_path / "terms.png").is_file()
    ys = {ax.get_title(): ax.lines[0].get_ydata().tolist() for ax in fig.axes}
    assert ys["ID, label smoothing (Eq. 3-4)"] == [3.0, 2.0]
    assert ys["total (Eq. 13)"] == [6.0, 3.5]
    fig = plot_lr(HISTORY, curves={"eq2": [1e-4, 2e-4, 3e-4]}, milestones=(2,))
    lines = {line.get_label(): line for line in fig.axes[0].lines}
    assert list(lines["eq2"].get_ydata()) == [1e-4, 2e-4, 3e-4]
    assert list(lines["this run"].get_ydata()) == [1e-4, 2e-4]  # this run's points
    assert list(lines["this run"].get_xdata()) == [1, 2]
    fig = plot_metrics(
        {"run": HISTORY}, baselines={"untrained": 5.0, "pixels": {"rank1": 7.0, "mAP": 6.0}}
    )
    assert fig.axes[0].lines[0].get_xydata().tolist() == [[2, 40.0]]  # epochs with a rank1
    assert [list(line.get_ydata()) for line in fig.axes[0].lines[1:]] == [[5.0, 5.0], [7.0, 7.0]]
    assert [list(line.get_ydata()) for line in fig.axes[1].lines[1:]] == [[6.0, 6.0]]
    assert [t.get_text() for t in fig.axes[1].texts] == ["pixels"]


def test_attention_histograms_split_frames_by_the_erased_flag():
    weights = np.array([0.1, 0.2, 0.3, 0.4])
    fig = plot_attention_by_erasing(weights, np.array([1, 0, 0, 1]))
    clean, erased = fig.axes[0].containers
    assert sum(p.get_height() for p in clean) == 2 and sum(p.get_height() for p in erased) == 2
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["clean frames (mean 0.250)", "erased frames (mean 0.250)"]


def result_of(first, ap, top, matches) -> EvalResult:
    first, ap = np.array(first), np.array(ap, float)
    return EvalResult(
        cmc=np.zeros(1),
        mAP=float(np.nanmean(ap)),
        num_valid_queries=int((first >= 0).sum()),
        valid=first >= 0,
        first_match_rank=first,
        average_precision=ap,
        top_indices=np.array(top),
        top_matches=np.array(matches),
    )


def test_best_and_worst_queries_by_ap_then_first_match():
    # query 2 is skipped (no valid match); 0 and 3 tie on AP, 3 matches earlier
    res = result_of([1, 4, -1, 0, 0], [0.5, 0.1, np.nan, 0.5, 1.0], [[0]] * 5, [[True]] * 5)
    best, worst = best_and_worst_queries(res, num=2)
    assert best == [4, 3] and worst == [1, 0]


def test_rank_list_frames_true_and_false_matches(tiny_tracklets):
    query, gallery = tiny_tracklets
    res = result_of([0], [1.0], [[1, 0, -1]], [[True, False, False]])
    fig = plot_rank_lists(query, gallery, res, [0], top_k=3, query_frames=2)
    axes = fig.axes  # 2 query frames, a spacer, 3 gallery slots
    borders = [a.patches[0].get_edgecolor() if a.patches else None for a in axes[3:]]
    assert [to_hex(b) if b is not None else None for b in borders] == [MATCH, NON_MATCH, None]
    with pytest.raises(ValueError, match="top 3 items; top_k=4"):
        plot_rank_lists(query, gallery, res, [0], top_k=4)


def test_rank_list_names_a_dead_attention_instead_of_its_weights(tiny_tracklets):
    from reidlib.types import FrameWeights

    query, gallery = tiny_tracklets
    res = result_of([0], [1.0], [[1, 0, -1]], [[True, False, False]])

    def attention(tracklet):  # the query's clip is dead, the gallery's alive
        n = len(tracklet.frames)
        dead = tracklet is query[0]
        return FrameWeights(np.full(n, 0.25 if dead else 0.4), np.full(n, dead))

    fig = plot_rank_lists(query, gallery, res, [0], top_k=2, query_frames=2, attention=attention)
    labels = [ax.get_xlabel() for ax in fig.axes if ax.get_xlabel()]
    assert labels == ["attention dead: 1/T"] * 2 + ["a=0.40"] * 2


@pytest.fixture
def tiny_tracklets(tmp_path):
    from PIL import Image

    from reidlib.types import Tracklet

    def tracklet(name: str, colour: tuple[int, int, int], pid: int) -> Tracklet:
        frames = []
        for i in range(3):
            path = tmp_path / f"{name}{i}.png"
            Image.new("RGB", (8, 16), colour).save(path)
            frames.append(path)
        return Tracklet(tuple(frames), pid, 0)

    return [tracklet("q", (255, 0, 0), 1)], [
        tracklet("g0", (0, 0, 255), 2),
        tracklet("g1", (255, 0, 0), 1),
    ]


def test_every_table_row_names_a_paper_row_and_a_preset():
    from reidlib import paper
    from reidlib.config import PRESETS, TABLE5_SOURCES, TABLE_ROWS
    from reidlib.what_matters import ROWS

    for table, rows in TABLE_ROWS.items():
        assert set(rows) == set(getattr(paper, f"TABLE_{table}")), table
        assert set(rows.values()) <= set(PRESETS), table
    assert list(TABLE_ROWS) == ["I", "III", "IV"]  # Table V's rows are chains of runs
    assert set(TABLE5_SOURCES) == set(paper.TABLE_V)
    presets = sorted(p for rows in TABLE_ROWS.values() for p in rows.values())
    recipe = [p for p in ROWS.values() if p is not None]  # notebook 09's changed settings
    # Table V's first row is the base run
    assert sorted([*presets, "table5_imagenet", *recipe]) == sorted(PRESETS)


def fake_train(nb, calls: list):
    """`NotebookRun.train` without training: a finished run whose every query ranks first,
    and a log of what was asked (dataset, split, init checkpoint relative to the runs root)."""

    def train(preset=None, *, cfg=None, progress=None, **kwargs):
        cfg = cfg if cfg is not None else nb.config(preset, **kwargs)
        start = cfg.train.init_checkpoint
        start = start and Path(start).relative_to(nb.runs_root).as_posix()
        calls.append((cfg.data.dataset, cfg.data.split_id, start))
        queries = QueryOutcomes(np.array([0, 0]), np.array([1.0, 1.0])).to_json()
        evaluation = {f"rank{k}": 100.0 for k in (1, 5, 10, 20)} | {"mAP": 100.0}
        evaluation |= {"chance_rank1": 50.0, "num_valid_queries": 2, "queries": queries}
        history = [{"epoch": 1, "train_seconds": 1.0, **evaluation}]
        out_dir = nb.runs_root / f"{cfg.data.dataset}-{cfg.data.split_id}"
        return SimpleNamespace(cfg=cfg, history=history, out_dir=out_dir, transfer=None)

    return train


def test_transfer_trains_each_link_of_the_chain_split_by_split(tmp_path, monkeypatch):
    nb = start_notebook("99_probe", device="cpu", splits="0,3", out_dir=str(tmp_path / "o"))
    calls: list = []
    monkeypatch.setattr(nb, "train", fake_train(nb, calls))
    ablation = nb.transfer("MARS + iLIDS-VID", target="prid2011")
    assert calls == [  # MARS's one run starts both iLIDS-VID splits; each split its own
        ("mars", 0, None),
        ("ilidsvid", 0, "mars-0/last.pt"),
        ("ilidsvid", 3, "mars-0/last.pt"),
        ("prid2011", 0, "ilidsvid-0/last.pt"),
        ("prid2011", 3, "ilidsvid-3/last.pt"),
    ]
    assert [(r.setting, r.dataset, r.split, r.init) for r in ablation.runs] == [
        ("MARS + iLIDS-VID", "prid2011", 0, "transfer"),
        ("MARS + iLIDS-VID", "prid2011", 3, "transfer"),
    ]
    assert [r.run_dir for r in ablation.runs] == ["runs/prid2011-0", "runs/prid2011-3"]
    [row] = ablation.rows  # PRID2011 has rank-1 only
    assert (row.setting, row.paper, row.ours) == (
        "MARS + iLIDS-VID (prid2011, splits 0, 3, mean)",
        97.75,
        100.0,
    )
    assert ablation.summaries[0].splits == (0, 3)
    assert list(ablation.outcomes) == [("MARS + iLIDS-VID", "prid2011")]
    calls.clear()
    imagenet = nb.transfer("ImageNet", target="ilidsvid")
    assert calls == [("ilidsvid", 0, None), ("ilidsvid", 3, None)]
    assert imagenet.runs[0].init == "synthetic pre-training"


def test_recorded_paths_are_relative_to_the_repository(tmp_path):
    nb = start_notebook("99_probe", device="cpu", out_dir=str(tmp_path / "o"))
    cfg = nb.config()  # absolute paths, so that runs read the same data from any folder
    assert Path(cfg.data.root).is_absolute()
    recorded = nb.recorded(
        cfg.with_overrides(train={"init_checkpoint": str(nb.repo / "runs/x.pt")})
    )
    assert recorded.data.root == "data/synthetic/mars"
    assert recorded.model.weights_dir == "data/weights" and recorded.model.weights is None
    assert recorded.train.init_checkpoint == "runs/x.pt"
    assert nb.relative(nb.repo.parent / "elsewhere") == "../elsewhere"
    assert nb.relative("figures/quick") == "figures/quick"


def test_tables_are_formatted_where_shown():
    values = (1.23456, 0.000125, 0.35, 12, 0.0, None)
    assert [show_number(v, decimals=3) for v in values] == [
        "1.235",
        "0.000125",
        "0.35",
        "12",
        "0",
        "–",
    ]
    assert show_number(0.004) == "0.004"  # a value too small for two decimals never reads 0
    table = pd.DataFrame({"loss": [1.23456, 0.5]}, index=pd.Index(["ID", "RLL"], name="term"))
    with_index = show_table(table, index=True, decimals=3).to_html()
    assert ">RLL</th>" in with_index and ">1.235</td>" in with_index and ">0.5</td>" in with_index
    assert ">RLL</th>" not in show_table(table).to_html()  # the index is shown on request
