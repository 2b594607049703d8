"""The trainer and the run builder: a trainer handed a tiny network, epoch batches drawn from
(seed, epoch) alone, exact kill-and-resume, 2-process DDP, bf16/channels-last paths, transfer,
the command line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

from reidlib.cli import main
from reidlib.config import RunConfig, load_profile
from reidlib.data import build_test_transform
from reidlib.evaluation.features import extract_features
from reidlib.network.bnneck import BNNeckHead
from reidlib.network.reid_net import VideoReIDNet
from reidlib.network.temporal_attention import TemporalAttention
from reidlib.progress import MININTERVAL, progress_bar
from reidlib.training import (
    NonFiniteLossError,
    Trainer,
    build_run,
    build_schedule,
    build_step,
    epoch_batches,
    load_dataset,
    load_trained,
    train,
)
from reidlib.training.checkpoint import (
    link_checkpoint,
    load_checkpoint,
    load_transfer,
    save_checkpoint,
)
from reidlib.training.distributed import DistInfo
from tests.data_builders import TINY_MARS

REPO = Path(__file__).resolve().parents[1]
TIMED = ("train_seconds", "eval_seconds")


@pytest.fixture(scope="module")
def tiny_root(synthetic_root) -> Path:
    return synthetic_root("mars", **TINY_MARS)


@pytest.fixture(scope="module")
def prid(synthetic_root) -> Path:
    """A synthetic PRID2011 layout of 10 identities and its 10 splits."""
    return synthetic_root("prid2011", num_ids=10, seed=1, image_size=(32, 16))


@pytest.fixture(scope="module")
def trained_run(tiny_root, tmp_path_factory) -> Path:
    """A finished 1-epoch run shared by the tests that need a checkpoint."""
    out = tmp_path_factory.mktemp("run")
    train(tiny_config(tiny_root, train={"epochs": 1}), out_dir=out, progress=False)
    return out


def tiny_config(root: Path, **sections) -> RunConfig:
    cfg = load_profile("quick").with_overrides(
        data={
            "root": str(root),
            "synthetic": False,
            "height": 32,
            "width": 16,
            "clip_len": 2,
            "num_ids_per_batch": 2,
            "num_instances": 2,
            "num_workers": 0,
        },
        train={
            "epochs": 3,
            "lr": 3.5e-4,  # the paper's rate (the quick profile uses 1e-3)
            "warmup_epochs": 1,
            "milestones": (2,),
            "eval_every": 1,
            "eval_chunk": 8,
            "checkpoint_every": 1,
        },
        # the mechanics of training need no pre-trained backbone (tests/test_pretrain.py)
        model={"init": "random", "zero_init_residual": True},
    )
    return cfg.with_overrides(**sections) if sections else cfg


TINY_WIDTH = 16  # D of the tiny network


def tiny_network(num_classes: int) -> VideoReIDNet:
    """The paper's network with a two-convolution frame encoder: 32×16 frames -> 16 × 8×4 maps,
    the temporal attention and BNNeck as in the real network."""
    torch.manual_seed(0)
    encoder = nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, TINY_WIDTH, 3, stride=2, padding=1),
        nn.ReLU(),
    )
    attention = TemporalAttention(TINY_WIDTH, map_size=(8, 4), hidden=8)
    return VideoReIDNet(encoder, attention, BNNeckHead(TINY_WIDTH, num_classes))


def tiny_trainer(cfg: RunConfig, dataset, *, out_dir: Path | None = None, **kw) -> Trainer:
    """A `Trainer` handed a tiny network and the parts `build_run` would build from `cfg`."""
    net = tiny_network(dataset.num_train_pids)
    device = torch.device("cpu")
    step = build_step(
        net, cfg, num_classes=dataset.num_train_pids, device=device, feature_dim=TINY_WIDTH
    )
    scheduler = build_schedule(cfg, step.optimizer)
    batches = epoch_batches(cfg, dataset, dist=DistInfo(), device=device)
    return Trainer(
        cfg,
        step=step,
        scheduler=scheduler,
        batches=batches,
        dataset=dataset,
        out_dir=out_dir,
        progress=kw.pop("progress", False),
        **kw,
    )


def untimed(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMED} for r in history]


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "reidlib", *args]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def test_training_is_repeatable_and_logs_every_term(tiny_root, tmp_path):
    cfg = tiny_config(tiny_root, train={"epochs": 2, "eval_every": 2})
    dataset = load_dataset(cfg.data, progress=False)
    a = tiny_trainer(cfg, dataset, out_dir=tmp_path / "a").fit()
    sparse = cfg.with_overrides(train={"checkpoint_every": 5})  # same run, fewer last.pt writes
    assert sparse.digest() == cfg.digest()
    b = tiny_trainer(sparse, dataset, out_dir=tmp_path / "b").fit()
    assert untimed(a) == untimed(b)
    assert load_checkpoint(tmp_path / "b" / "last.pt")["epoch"] == 2  # the final epoch writes
    # epoch 2 is evaluated and checkpointed: best.pt is a second name for last.pt's bytes
    assert (tmp_path / "a" / "best.pt").samefile(tmp_path / "a" / "last.pt")
    assert [r["epoch"] for r in a] == [1, 2]
    for key in ("total", "id", "rll", "center", "eatt", "lr", "rank1", "mAP", "num_valid_queries"):
        assert key in a[-1], key
    logged = [
        json.loads(line) for line in (tmp_path / "a" / "history.jsonl").read_text().splitlines()
    ]
    assert untimed(logged) == untimed(a)
    # reference schedule, 1 warm-up epoch, milestone 2: epoch e runs at k = e + 1, so
    # k = 1 -> 3.5e-4 (warm-up over), k = 2 -> 3.5e-4 · 0.1 (milestone 2 reached)
    assert [r["lr"] for r in a] == pytest.approx([3.5e-4, 3.5e-5])


def test_linked_checkpoint_keeps_its_bytes_when_the_source_is_replaced(tmp_path):
    last, best = tmp_path / "last.pt", tmp_path / "best.pt"
    save_checkpoint({"epoch": 1}, last)
    best.write_bytes(b"older best")
    link_checkpoint(last, best)
    assert load_checkpoint(best)["epoch"] == 1
    save_checkpoint({"epoch": 2}, last)  # a later epoch replaces last.pt, not its old bytes
    assert load_checkpoint(best)["epoch"] == 1 and load_checkpoint(last)["epoch"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "last.pt"]  # no temp left


def test_the_trainer_trains_the_network_it_is_handed(tiny_root):
    cfg = tiny_config(tiny_root, train={"epochs": 1, "eval_every": 1})
    dataset = load_dataset(cfg.data, progress=False)
    trainer = tiny_trainer(cfg, dataset)
    assert (
        trainer.net is trainer.step.net and sum(p.numel() for p in trainer.net.parameters()) < 1e4
    )
    before = {k: v.clone() for k, v in trainer.net.state_dict().items()}
    history = trainer.fit()
    after = trainer.net.state_dict()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert "backbone.0.weight" in changed and "temporal.temporal_conv.weight" in changed
    assert history[-1]["num_valid_queries"] == len(dataset.query)


def batch_draws(batches, epoch: int) -> list[tuple[list[int], torch.Tensor]]:
    return [(pids.tolist(), clips) for clips, pids, _, _ in batches.epoch(epoch)]


def test_epoch_batches_are_a_function_of_seed_and_epoch_alone(tiny_root):
    cfg = tiny_config(tiny_root, data={"random_erasing": True})
    dataset = load_dataset(cfg.data, progress=False)
    make = lambda c: epoch_batches(c, dataset, dist=DistInfo(), device=torch.device("cpu"))  # noqa: E731
    state = torch.get_rng_state()
    first = batch_draws(make(cfg), 1)
    assert torch.equal(torch.get_rng_state(), state)  # no global random state read or written
    torch.manual_seed(12345)  # another global state changes nothing
    again = batch_draws(make(cfg), 1)
    workers = batch_draws(make(cfg.with_overrides(data={"num_workers": 2})), 1)
    for (pa, ca), (pb, cb), (pw, cw) in zip(first, again, workers, strict=True):
        assert pa == pb == pw and torch.equal(ca, cb) and torch.equal(ca, cw)
    other_epoch = batch_draws(make(cfg), 2)
    other_seed = batch_draws(make(cfg.with_overrides(train={"seed": 1})), 1)
    for other in (other_epoch, other_seed):
        assert any(not torch.equal(a[1], b[1]) for a, b in zip(first, other, strict=True))


def test_build_step_takes_the_im2col_speed_up_only_when_asked(tiny_root):
    cfg = tiny_config(tiny_root)
    for asked in (False, True):
        net = tiny_network(4)
        run = cfg.with_overrides(train={"cpu_im2col": asked})
        build_step(net, run, num_classes=4, device=torch.device("cpu"), feature_dim=TINY_WIDTH)
        patched = ["forward" in vars(m) for m in net.modules() if isinstance(m, nn.Conv2d)]
        assert patched == [asked] * len(patched) and len(patched) == 3
    assert load_profile("quick").train.cpu_im2col and not load_profile("full").train.cpu_im2col


def test_build_run_starts_from_the_seed_and_leaves_global_state_alone(tiny_root):
    cfg = tiny_config(tiny_root, train={"epochs": 1})
    dataset = load_dataset(cfg.data, progress=False)
    state = torch.get_rng_state()
    a = build_run(cfg, dataset, progress=False)
    assert torch.equal(torch.get_rng_state(), state)
    b = build_run(cfg, dataset, progress=False)
    c = build_run(cfg.with_overrides(train={"seed": 1}), dataset, progress=False)
    wa, wb, wc = (t.net.state_dict()["backbone.conv1.weight"] for t in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)
    centers = [t.step.criterion.center.centers for t in (a, b, c)]
    assert torch.equal(centers[0], centers[1]) and not torch.equal(centers[0], centers[2])
    assert a.weights_loaded == 0 and a.transfer is None  # random init: nothing loaded


@pytest.mark.slow
def test_killed_run_resumes_to_exactly_the_same_result(tiny_root, tmp_path):
    cfg = tiny_config(tiny_root, train={"epochs": 3, "eval_every": 3})  # final metrics only
    cfg_path = tmp_path / "cfg.json"
    cfg_path.write_text(json.dumps(cfg.to_dict()))
    run = cli("train", "--config", str(cfg_path), "--device", "cpu", "--out")

    subprocess.run([*run, str(tmp_path / "whole")], env=env(), check=True, capture_output=True)
    whole = [json.loads(x) for x in (tmp_path / "whole" / "history.jsonl").read_text().splitlines()]

    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [*run, str(killed)], env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    log = killed / "history.jsonl"
    deadline = time.monotonic() + 120
    while not (log.is_file() and log.read_text().count("\n") >= 1):  # epoch 1 is on disk
        assert proc.poll() is None and time.monotonic() < deadline, "run ended before the kill"
        time.sleep(0.02)
    time.sleep(0.3)  # somewhere inside epoch 2
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    done_before_kill = load_checkpoint(killed / "last.pt")["epoch"]
    assert 1 <= done_before_kill < 3  # last.pt is a whole checkpoint, whenever the kill came

    again = subprocess.run([*run, str(killed)], env=env(), check=True, capture_output=True)
    assert b"being trained by" not in again.stderr  # the killed process's lock blocks no one
    assert not list(killed.glob(".*.tmp"))  # a write cut by the kill is cleared away
    resumed = [json.loads(x) for x in log.read_text().splitlines()]
    assert untimed(resumed) == untimed(whole)  # every loss term, lr and metric, bit for bit


@pytest.mark.slow
def test_a_second_trainer_of_the_same_run_waits_and_reuses_it(tiny_root, tmp_path):
    cfg = tiny_config(tiny_root, train={"epochs": 12, "eval_every": 12})  # a few seconds
    cfg_path = tmp_path / "cfg.json"
    cfg_path.write_text(json.dumps(cfg.to_dict()))
    out = tmp_path / "run"
    run = [*cli("train", "--config", str(cfg_path), "--device", "cpu", "--out", str(out))]
    pair = [
        subprocess.Popen(run, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    lock = out / ".lock"
    deadline = time.monotonic() + 120
    while not (lock.is_file() and "process" in lock.read_text()):
        assert time.monotonic() < deadline, "neither trainer took the lock"
        time.sleep(0.01)
    holder, waiter = pair if f"process {pair[0].pid} " in lock.read_text() else pair[::-1]
    holder_out, _ = holder.communicate(timeout=300)
    written = (out / "last.pt").stat().st_mtime_ns  # the holder's final checkpoint
    waiter_out, waiter_err = waiter.communicate(timeout=300)
    assert holder.returncode == waiter.returncode == 0
    assert f"being trained by process {holder.pid} on".encode() in waiter_err
    assert (out / "last.pt").stat().st_mtime_ns == written  # reused, not trained again
    assert waiter_out.splitlines()[-1] == holder_out.splitlines()[-1]  # the same final metrics
    assert len((out / "history.jsonl").read_text().splitlines()) == 12


def test_a_damaged_frame_stops_training_before_the_first_step(tiny_root, tmp_path, capsys):
    root = tmp_path / "mars"
    shutil.copytree(tiny_root, root)
    frame = load_dataset(tiny_config(root).data, progress=False).query[0].frames[-1]
    frame.write_bytes(frame.read_bytes()[: len(frame.read_bytes()) // 2])  # a cut JPEG
    cfg_path = tmp_path / "cfg.json"
    cfg_path.write_text(json.dumps(tiny_config(root, train={"epochs": 1}).to_dict()))
    args = ["train", "--config", str(cfg_path), "--device", "cpu", "--out", str(tmp_path / "run")]
    assert main(args) == 1
    err = capsys.readouterr().err
    # 494 frames: every test id is seen 2 or 3 times by each of its cameras (synthetic/layouts.py)
    assert f"1 of 494 frames under {root} cannot be read:" in err and f"{frame}: " in err
    assert not (tmp_path / "run" / "history.jsonl").exists()  # not one step was trained
    # skipping the check, the same frame is found only after the epoch, by the evaluation
    assert main([*args, "--no-check-data"]) == 1
    err = capsys.readouterr().err
    assert f"{frame}: not a readable image" in err and "decoding 310 frames" in err


@pytest.mark.slow
def test_a_run_made_by_other_code_is_trained_again(tiny_root, tmp_path):
    copy = tmp_path / "src"  # a copy of the package whose sources change between two runs
    shutil.copytree(
        REPO / "reidlib", copy / "reidlib", ignore=shutil.ignore_patterns("__pycache__")
    )
    cfg = tiny_config(tiny_root, train={"epochs": 1})
    cfg_path = tmp_path / "cfg.json"
    cfg_path.write_text(json.dumps(cfg.to_dict()))
    out = tmp_path / "run"
    run = cli("train", "--config", str(cfg_path), "--device", "cpu", "--out", str(out))
    copied = {**env(), "PYTHONPATH": str(copy)}
    subprocess.run(run, env=copied, check=True, capture_output=True, cwd=tmp_path)
    made = json.loads(load_checkpoint(out / "last.pt")["code"])
    same = subprocess.run(run, env=copied, check=True, capture_output=True, cwd=tmp_path)
    assert b"made by other reidlib code" not in same.stdout  # same code: reused
    loss = copy / "reidlib" / "losses" / "total.py"
    loss.write_text(loss.read_text() + "\n# a change to a loss\n")
    changed = subprocess.run(run, env=copied, check=True, capture_output=True, cwd=tmp_path)
    assert (
        b"made by other reidlib code" in changed.stdout and b"training it again" in changed.stdout
    )
    now = json.loads(load_checkpoint(out / "last.pt")["code"])
    assert now["sources"] != made["sources"] and now["version"] == made["version"]
    assert json.loads((out / "config.json").read_text())["code"] == now


def test_checkpoint_of_other_settings_is_not_resumed(tiny_root, tmp_path):
    cfg = tiny_config(tiny_root, train={"epochs": 1})
    dataset = load_dataset(cfg.data, progress=False)
    tiny_trainer(cfg, dataset, out_dir=tmp_path).fit()
    other = tiny_config(tiny_root, train={"epochs": 1, "lr": 1e-3})
    with pytest.raises(ValueError, match=r"last\.pt: written by a run with other settings"):
        tiny_trainer(other, dataset, out_dir=tmp_path).fit()


def test_bf16_is_refused_on_cpu_and_channels_last_trains(tiny_root):
    dataset = load_dataset(tiny_config(tiny_root).data, progress=False)
    with pytest.raises(ValueError, match="bf16 autocast on CUDA; on cpu train in 'fp32'"):
        tiny_trainer(tiny_config(tiny_root, train={"precision": "bf16"}), dataset)
    cfg = tiny_config(tiny_root, train={"channels_last": True})
    trainer = tiny_trainer(cfg, dataset)
    assert not trainer.autocast()._enabled  # fp32: no autocast anywhere
    assert trainer.net.backbone[0].weight.is_contiguous(memory_format=torch.channels_last)
    before = trainer.net.head.classifier.weight.detach().clone()
    record = trainer.train_epoch(0)
    assert all(torch.isfinite(torch.tensor(v)) for k, v in record.items() if k != "epoch")
    assert not torch.equal(before, trainer.net.head.classifier.weight)
    metrics = trainer.evaluate().metrics
    assert 0 <= metrics["rank1"] <= 100 and metrics["num_valid_queries"] > 0


def test_a_non_finite_loss_stops_training_and_keeps_the_last_checkpoint(
    tiny_root, tmp_path, monkeypatch
):
    cfg = tiny_config(tiny_root, train={"epochs": 3, "eval_every": 3})
    trainer = tiny_trainer(cfg, load_dataset(cfg.data, progress=False), out_dir=tmp_path)
    compute_loss = trainer.step.compute_loss

    def poisoned(out, pids, erased):  # the RLL term goes NaN from epoch 2 on
        total, terms = compute_loss(out, pids, erased)
        if trainer.epoch >= 1:
            terms["rll"] = terms["rll"] * float("nan")
            total = total + terms["rll"]
            terms["total"] = total
        return total, terms

    monkeypatch.setattr(trainer.step, "compute_loss", poisoned)
    with pytest.raises(NonFiniteLossError, match=r"^epoch 2, step 1: loss rll is not finite"):
        trainer.fit()
    good = load_checkpoint(tmp_path / "last.pt")
    assert good["epoch"] == 1  # written after epoch 1, never replaced by a NaN state
    assert all(torch.isfinite(v).all() for v in good["model"].values() if v.is_floating_point())


def test_a_run_shows_one_bar_over_all_its_steps(tiny_root, monkeypatch):
    bars = []

    def recording_bar(iterable=None, **kwargs):
        bars.append(progress_bar(iterable, **kwargs))
        return bars[-1]

    monkeypatch.setattr("reidlib.training.trainer.progress_bar", recording_bar)
    cfg = tiny_config(tiny_root, train={"epochs": 2})
    trainer = tiny_trainer(cfg, load_dataset(cfg.data, progress=False), progress=True)
    trainer.fit()
    per_epoch = len(trainer.batches)
    trainer.epoch = 1  # as a run resumed after its first epoch
    trainer.fit()
    assert [(b.desc, b.initial, b.n, b.total, b.mininterval) for b in bars] == [
        (f"training {cfg.name}", 0, 2 * per_epoch, 2 * per_epoch, MININTERVAL),
        (f"training {cfg.name}", per_epoch, 2 * per_epoch, 2 * per_epoch, MININTERVAL),
    ]
    last = trainer.history[-1]
    assert bars[-1].postfix == (
        f"epoch=2/2, loss={last['total']:.3f}, rank1={last['rank1']:.1f}, mAP={last['mAP']:.1f}"
    )


def test_best_checkpoint_keeps_the_later_epoch_on_a_tie(tiny_root, tmp_path):
    cfg = tiny_config(tiny_root, train={"epochs": 2, "checkpoint_every": 5})
    trainer = tiny_trainer(cfg, load_dataset(cfg.data, progress=False), out_dir=tmp_path)
    for epoch, rank1 in ((1, 50.0), (2, 50.0)):  # equal rank-1: the later epoch is best
        trainer.epoch = epoch
        trainer.history.append({"epoch": epoch, "rank1": rank1})
        trainer._write_outputs(trainer.history[-1])
    assert load_checkpoint(tmp_path / "best.pt")["epoch"] == 2


def test_transfer_drops_only_the_classifier(tiny_root, prid, tmp_path):
    cfg = tiny_config(tiny_root, train={"epochs": 1})
    source = tiny_trainer(cfg, load_dataset(cfg.data, progress=False), out_dir=tmp_path / "src")
    source.fit()
    target = tiny_network(num_classes=7)  # another dataset: other identities
    report = load_transfer(target, tmp_path / "src" / "last.pt")
    assert report.dropped == ["head.classifier.weight"]
    assert report.reinitialised == ["head.classifier.weight"]
    src, dst = source.net.state_dict(), target.state_dict()
    assert len(report.loaded) == len(dst) - 1
    for key in report.loaded:
        assert torch.equal(src[key].cpu(), dst[key].cpu()), key
    assert "head.bnneck.running_mean" in report.loaded  # BNNeck statistics come along
    assert src["head.classifier.weight"].shape[0] != dst["head.classifier.weight"].shape[0]

    other = VideoReIDNet(
        nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU()),  # other shapes
        TemporalAttention(8, map_size=(16, 8), hidden=8),
        BNNeckHead(8, 7),
    )
    with pytest.raises(ValueError, match=r"last\.pt: tensor shapes differ"):
        load_transfer(other, tmp_path / "src" / "last.pt")
    with pytest.raises(FileNotFoundError, match=r"nothing\.pt"):
        load_transfer(target, tmp_path / "nothing.pt")


def one_and_two_processes(script: str, cfg: RunConfig, tmp_path: Path) -> tuple[dict, list[dict]]:
    """Runs `tests/<script>` once as a single process and once under torchrun with 2 gloo
    processes; returns what the single process and each of the two ranks saved."""
    cfg_path = tmp_path / "cfg.json"
    cfg_path.write_text(json.dumps(cfg.to_dict()))
    path = str(REPO / "tests" / script)
    single, double = tmp_path / "single", tmp_path / "double"
    single.mkdir()
    double.mkdir()
    subprocess.run([sys.executable, path, str(cfg_path), str(single)], env=env(), check=True)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    subprocess.run(
        [*torchrun, path, str(cfg_path), str(double)], env=env(), check=True, capture_output=True
    )
    one = torch.load(single / "rank0.pt", weights_only=True)
    return one, [torch.load(double / f"rank{r}.pt", weights_only=True) for r in (0, 1)]


@pytest.mark.slow
def test_two_process_ddp_step_matches_one_process_on_the_global_batch(tiny_root, tmp_path):
    one, ranks = one_and_two_processes("ddp_step.py", tiny_config(tiny_root), tmp_path)
    # Tolerance: float32 sums taken in another order (per-rank means, then an all-reduce).
    for key, value in one["terms"].items():
        assert ranks[0]["terms"][key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
    for r in ranks:
        for key, value in one["params"].items():
            torch.testing.assert_close(r["params"][key], value, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(r["centers"], one["centers"], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_two_process_evaluation_gathers_the_single_process_features(tiny_root, tmp_path):
    one, shares = one_and_two_processes("ddp_eval.py", tiny_config(tiny_root), tmp_path)
    total = len(one["q"]) + len(one["g"])
    assert one["embedded"] == [total]
    assert [s["embedded"] for s in shares] == [[total // 2], [total - total // 2]]  # halves
    for got in shares:  # every process ends with all the features, in the same order
        # Tolerance: the shares pack clips into other forward passes than one process does
        torch.testing.assert_close(got["q"], one["q"], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(got["g"], one["g"], rtol=1e-5, atol=1e-5)
        assert got["metrics"] == pytest.approx(one["metrics"])


@pytest.mark.slow
def test_cli_evaluate_and_embed(tiny_root, trained_run, tmp_path):
    cfg = tiny_config(tiny_root, train={"epochs": 1})
    ckpt = trained_run / "last.pt"
    out = tmp_path / "metrics.json"
    assert main(["evaluate", str(ckpt), "--device", "cpu", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    dataset = load_dataset(cfg.data, progress=False)
    assert len(report["per_query"]) == len(dataset.query)
    logged = json.loads(load_checkpoint(ckpt)["history"])[-1]  # the trainer's own evaluation
    for key in ("rank1", "rank5", "mAP", "num_valid_queries"):
        assert report[key] == pytest.approx(logged[key], abs=1e-4), key
    assert all(q["first_match_rank"] >= 0 for q in report["per_query"])  # synthetic: all valid
    tracklet_dir = tmp_path / "tracklet"  # a folder of one tracklet's frames
    tracklet_dir.mkdir()
    for frame in dataset.query[0].frames:
        shutil.copy(frame, tracklet_dir / frame.name)
    feats = tmp_path / "feats.pt"
    assert (
        main(["embed", str(ckpt), str(tracklet_dir), "--device", "cpu", "--out", str(feats)]) == 0
    )
    saved = torch.load(feats, weights_only=True)
    assert saved["tracklets"] == [str(tracklet_dir)]
    net, _ = load_trained(ckpt)
    assert not net.training
    assert cfg.data.test_clips == 4  # the run's own cap: the quick profile's 8 frames, T = 2
    expected = extract_features(
        net,
        dataset.query[:1],
        transform=build_test_transform(size=(32, 16)),
        clip_len=2,
        max_clips=4,
        progress=False,
    )
    torch.testing.assert_close(saved["features"], expected)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--set", "epochs=3"], "expected SECTION.NAME=VALUE"),
        (["train", "--set", "train.epoch=3"], "unknown train settings ['epoch']"),
        (["train", "--set", "train.lr=abc"], "train.lr='abc': expected a number"),
        (["train", "--epochs", "-1"], "train.epochs=-1: expected at least 1 epoch"),
        (["train", "--set", "data.num_ids_per_batch=0"], "data.num_ids_per_batch=0: expected"),
        (["train", "--set", "model.backbone=resnet18"], "one of 'resnet50', 'resnet50_ibn_a'"),
        (["train", "--set", "train.precision=fp16"], "one of 'fp32', 'bf16'"),
        (["train", "--random-init", "--weights", "w.pth"], "contradict each other"),
        (["train", "--profile", "full"], "resnet50_ibn_a-d9d0bb7b.pth: ImageNet weights for"),
        (["train", "--config", "nowhere.json"], "nowhere.json: config file not found"),
        (["evaluate", "missing.pt"], "missing.pt: checkpoint not found"),
        (["train", "--root", "/nonexistent/mars", "--epochs", "1"], "/nonexistent/mars"),
    ],
)
def test_cli_bad_arguments_fail_with_a_message(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"reidlib {args[0]}: error: ") and message in err


def test_an_unexpected_error_is_one_line_naming_its_traceback(monkeypatch, capsys):
    def out_of_memory(args):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr("reidlib.cli.train_command", out_of_memory)
    assert main(["train"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("reidlib train: error: OutOfMemoryError: CUDA")
    log = Path(err.split("traceback in ")[1].split(";")[0])
    try:
        text = log.read_text()
        assert text.startswith("Traceback") and "in out_of_memory" in text
    finally:
        log.unlink()
    with pytest.raises(torch.OutOfMemoryError):  # --debug: the traceback itself
        main(["train", "--debug"])


@pytest.mark.slow
def test_console_entry_point_rejects_bad_arguments(tmp_path):
    # the real `python -m reidlib` process: argparse's own error and exit status 2
    proc = subprocess.run(
        cli("train", "--profile", "huge"), env=env(), capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 2
    assert "invalid choice: 'huge'" in proc.stderr


def cli_train(cfg: RunConfig, tmp_path: Path) -> tuple[list[str], Path]:
    """`reidlib train` arguments for `cfg` (written to a config file) and its `--out` folder."""
    cfg_path = tmp_path / "cfg.json"
    cfg_path.write_text(json.dumps(cfg.to_dict()))
    out = tmp_path / "runs"
    return ["train", "--config", str(cfg_path), "--device", "cpu", "--out", str(out)], out


@pytest.mark.slow
def test_cli_trains_several_splits_and_reports_mean_and_std(prid, tmp_path, capsys):
    cfg = tiny_config(prid, data={"dataset": "prid2011"}, train={"epochs": 1})
    args, out = cli_train(cfg, tmp_path)
    assert main([*args, "--splits", "0,1"]) == 0
    printed = capsys.readouterr().out.splitlines()
    per_split = [
        json.loads(load_checkpoint(out / f"split{s}" / "last.pt")["config"]) for s in (0, 1)
    ]
    assert [c["data"]["split_id"] for c in per_split] == [0, 1]
    rank1 = [
        json.loads((out / f"split{s}" / "history.jsonl").read_text().splitlines()[-1])["rank1"]
        for s in (0, 1)
    ]
    mean, std = sum(rank1) / 2, abs(rank1[0] - rank1[1]) / 2**0.5
    assert printed[-1].startswith("quick-mars: mean ± std over splits 0-1: ")
    assert f"'rank1': '{mean:.2f} ± {std:.2f}'" in printed[-1]
    assert main([*args, "--splits", "0-12"]) == 1
    assert "splits '0-12': expected split ids between 0 and 9" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_trains_one_run_per_seed_and_prints_each_attention(tiny_root, tmp_path, capsys):
    args, out = cli_train(tiny_config(tiny_root, train={"epochs": 1}), tmp_path)
    assert main([*args, "--seeds", "3,5"]) == 0
    printed = capsys.readouterr().out.splitlines()
    seeds = [json.loads(load_checkpoint(out / f"seed{s}" / "last.pt")["config"]) for s in (3, 5)]
    assert [c["train"]["seed"] for c in seeds] == [3, 5]
    last = [
        json.loads((out / f"seed{s}" / "history.jsonl").read_text().splitlines()[-1])
        for s in (3, 5)
    ]
    assert all(
        {"dead_fraction", "entropy", "erased_weight", "clean_weight"} <= set(r["attention"])
        for r in last
    )
    assert sum("seed 3, attention" in line for line in printed) == 1
    assert printed[-1].startswith("quick-mars: mean ± std over seeds 3, 5: ")
    assert main([*args, "--seeds", "1-x"]) == 1
    assert "seeds '1-x': expected seeds between 0 and" in capsys.readouterr().err
    assert main([*args, "--seeds", "0-1", "--fast-dev-run", "2"]) == 1
    assert "--seeds and --fast-dev-run go separately" in capsys.readouterr().err


def test_a_cpu_run_started_with_spinning_waits_says_so(tiny_root, monkeypatch):
    cfg = tiny_config(tiny_root, train={"epochs": 1})
    dataset = load_dataset(cfg.data, progress=False)
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    with pytest.warns(UserWarning, match="start Python with GOMP_SPINCOUNT=3000"):
        build_run(cfg, dataset, progress=False)
    monkeypatch.setenv("GOMP_SPINCOUNT", "3000")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_run(cfg, dataset, progress=False)


def test_the_processes_slices_join_into_the_one_process_batch(tiny_root):
    cfg = tiny_config(tiny_root)
    dataset = load_dataset(cfg.data, progress=False)
    cpu = torch.device("cpu")
    one = epoch_batches(cfg, dataset, dist=DistInfo(), device=cpu)
    ranks = [
        epoch_batches(cfg, dataset, dist=DistInfo(rank=r, world_size=2), device=cpu) for r in (0, 1)
    ]
    for whole, *parts in zip(one.epoch(1), *(r.epoch(1) for r in ranks), strict=True):
        clips, pids = whole[0], whole[1]
        assert torch.equal(torch.cat([p[0] for p in parts]), clips)  # the same clips, drawn
        assert torch.equal(torch.cat([p[1] for p in parts]), pids)  # by their global position


def test_a_run_stopped_after_an_epoch_resumes_to_the_same_numbers(tiny_root, tmp_path, monkeypatch):
    cfg = tiny_config(tiny_root, train={"epochs": 3, "eval_every": 3})
    dataset = load_dataset(cfg.data, progress=False)
    whole = tiny_trainer(cfg, dataset, out_dir=tmp_path / "whole").fit()
    stopped = tiny_trainer(cfg, dataset, out_dir=tmp_path / "stopped")
    train_epoch = stopped.train_epoch

    def stop_before_the_third(epoch, **kw):
        if epoch == 2:
            raise KeyboardInterrupt
        return train_epoch(epoch, **kw)

    monkeypatch.setattr(stopped, "train_epoch", stop_before_the_third)
    with pytest.raises(KeyboardInterrupt):
        stopped.fit()
    assert load_checkpoint(tmp_path / "stopped" / "last.pt")["epoch"] == 2
    resumed = tiny_trainer(cfg, dataset, out_dir=tmp_path / "stopped").fit()
    assert untimed(resumed) == untimed(whole)


@pytest.mark.parametrize("dml_feature", ["bnneck", "pre_bnneck"])
def test_ddp_gathers_the_feature_the_metric_losses_read(dml_feature, monkeypatch):
    import reidlib.training.step as step_module
    from reidlib.losses import ReIDLoss, make_center_optimizer
    from reidlib.training.step import TrainingStep
    from reidlib.types import ReIDOutput

    gathered = []
    monkeypatch.setattr(step_module, "gather_with_grad", lambda t: gathered.append(t) or t)
    monkeypatch.setattr(step_module, "gather", lambda t: t)
    criterion = ReIDLoss(2, 3, dml_feature=dml_feature)
    net = nn.Linear(1, 1)
    step = TrainingStep(
        net,
        criterion=criterion,
        optimizer=torch.optim.SGD(net.parameters(), lr=0.1),
        center_optimizer=make_center_optimizer(criterion.center),
        cfg=RunConfig().with_overrides(loss={"dml_feature": dml_feature}),
        device=torch.device("cpu"),
        dist=DistInfo(rank=0, world_size=2),
    )
    g = torch.Generator().manual_seed(0)
    out = ReIDOutput(*(torch.randn(4, n, generator=g) for n in (2, 3, 3, 2, 2)))
    step.compute_loss(out, torch.tensor([0, 0, 1, 1]), torch.zeros(4, 2))
    expected = out.bn_feature if dml_feature == "bnneck" else out.feature
    assert len(gathered) == 1 and gathered[0] is expected
