"""Training a recipe on a manifest, resumable, on one CPU/GPU or several GPUs with torchrun.

`train` checkpoints after every epoch (`out_dir/last.pt`: model, optimiser, scheduler, RNG, epoch)
and, when called again with the same out_dir, continues from there; a resumed run ends with the
same weights as an uninterrupted one. Under `torchrun` (WORLD_SIZE > 1) the same code runs as DDP:
each rank trains on its share of every epoch and rank 0 writes the checkpoints and reports progress.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import timm.optim
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from detector import checkpoints
from detector.data import EpochSampler, ManifestDataset, make_loader
from detector.errors import CheckpointError, ManifestError
from detector.manifest import LABELS, ManifestRow, classes_for, read_manifest, target_of
from detector.model import Detector, build_model
from detector.predict import p_fake_of, predict
from detector.recipes import Recipe
from detector.runtime import autocast_for, cpu_threads, pick_device
from detector.transforms import eval_transform, train_transform


@dataclass(frozen=True)
class Progress:
    epoch: int  # 1-based
    epochs: int
    step: int  # batches done in this epoch
    steps_per_epoch: int
    loss: float  # mean training loss of this epoch so far
    lr: float
    images_per_s: float
    eta_s: float  # until the last epoch ends
    epoch_done: bool = False
    val_accuracy: float | None = None  # at the end of an epoch, when the manifest has a val split


@dataclass(frozen=True)
class TrainResult:
    checkpoint: Path | None  # model.pt when finished, last.pt when stopped, None if no epoch ended
    epochs_completed: int
    stopped: bool
    classes: tuple[str, ...]
    history: tuple[dict[str, float], ...]  # one entry per finished epoch


def train(
    recipe: Recipe,
    manifest_path: str | Path,
    out_dir: str | Path,
    *,
    split: str | None = "train",
    val_split: str | None = "val",
    device: str | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    progress_interval_s: float = 1.0,
) -> TrainResult:
    """Train `recipe` on the `split` rows of the manifest, writing checkpoints into `out_dir`.

    `on_progress` is called at most every `progress_interval_s` and at the end of every epoch;
    `should_stop()` is asked before every batch and ends the run early (the last finished epoch
    stays checkpointed). With `val_split` rows present, their accuracy is reported per epoch and
    drives the plateau schedule; otherwise the training loss does.
    """
    with _process_group(), cpu_threads(recipe.train.threads):
        return _train(
            recipe,
            manifest_path,
            Path(out_dir),
            split=split,
            val_split=val_split,
            device=device,
            on_progress=on_progress,
            should_stop=should_stop,
            progress_interval_s=progress_interval_s,
        )


def _train(
    recipe: Recipe,
    manifest_path: str | Path,
    out_dir: Path,
    *,
    split: str | None,
    val_split: str | None,
    device: str | None,
    on_progress: Callable[[Progress], None] | None,
    should_stop: Callable[[], bool] | None,
    progress_interval_s: float,
) -> TrainResult:
    rank, world_size, local_rank = _ranks()
    run_device = pick_device(device, local_rank)
    spec = recipe.train

    rows = read_manifest(manifest_path)
    train_rows = [row for row in rows if split is None or row.split == split]
    val_rows = [row for row in rows if val_split is not None and row.split == val_split]
    if not train_rows:
        raise ManifestError(f"manifest {manifest_path} has no images in split {split!r}")
    classes = _classes(recipe, train_rows)

    torch.manual_seed(spec.seed)
    model = build_model(recipe.model, classes).to(run_device)
    memory_format = torch.channels_last if spec.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    mean, std = _normalisation(model)
    dataset = ManifestDataset(
        train_rows,
        train_transform(recipe.data, mean, std),
        [target_of(row, classes) for row in train_rows],
    )
    sampler = EpochSampler(len(dataset), seed=spec.seed, rank=rank, world_size=world_size)
    loader = make_loader(
        dataset, batch_size=recipe.data.batch_size, workers=recipe.data.workers, sampler=sampler
    )
    val_loader = _val_loader(recipe, val_rows, classes, mean, std) if val_rows else None
    steps_per_epoch = len(loader)
    updates_per_epoch = math.ceil(steps_per_epoch / spec.accumulate)

    optimizer = timm.optim.create_optimizer_v2(
        model, opt=spec.optimizer, lr=spec.lr, weight_decay=spec.weight_decay, betas=spec.betas
    )
    scheduler = _scheduler(recipe, optimizer, updates_per_epoch, plateau_on_val=bool(val_rows))

    history: list[dict[str, float]] = []
    start_epoch = 0
    last_path = out_dir / checkpoints.LAST
    if last_path.exists():
        state = checkpoints.load(last_path, device=run_device)
        _check_same_run(state, recipe, classes, last_path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"].cpu())
        if run_device.type == "cuda" and "cuda_rng" in state:
            torch.cuda.set_rng_state(state["cuda_rng"].cpu(), run_device)
        start_epoch, history = state["epoch"], list(state["history"])

    net: nn.Module = model
    if world_size > 1:
        ids = [run_device.index] if run_device.type == "cuda" else None
        net = DistributedDataParallel(model, device_ids=ids)

    def report(progress: Progress) -> None:
        if on_progress is not None and rank == 0:
            on_progress(progress)

    started = time.monotonic()
    images_seen = 0
    total_steps = (spec.epochs - start_epoch) * steps_per_epoch
    stopped = False
    for epoch in range(start_epoch, spec.epochs):
        sampler.set_epoch(epoch)
        net.train()
        epoch_started = time.monotonic()
        loss_sum = torch.zeros((), device=run_device)
        epoch_images = 0
        last_report = time.monotonic()
        for step, (images, targets) in enumerate(loader, start=1):
            if _agree_to_stop(should_stop, world_size, run_device):
                stopped = True
                break
            images = images.to(run_device, non_blocking=True, memory_format=memory_format)
            targets = targets.to(run_device, non_blocking=True)
            group_end = min(math.ceil(step / spec.accumulate) * spec.accumulate, steps_per_epoch)
            group_size = group_end - (math.ceil(step / spec.accumulate) - 1) * spec.accumulate
            updating = step == group_end
            # DDP averages gradients only on the batch that ends an accumulation group
            sync = nullcontext() if updating or world_size == 1 else net.no_sync()
            with sync:
                with autocast_for(run_device, spec.precision):
                    loss = _loss(net(images), targets)
                (loss / group_size).backward()
            if updating:
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                if spec.schedule == "onecycle":
                    scheduler.step()
            loss_sum += loss.detach() * len(targets)
            epoch_images += len(targets)
            images_seen += len(targets) * world_size
            now = time.monotonic()
            if now - last_report >= progress_interval_s:
                last_report = now
                done = (epoch - start_epoch) * steps_per_epoch + step
                report(
                    Progress(
                        epoch=epoch + 1,
                        epochs=spec.epochs,
                        step=step,
                        steps_per_epoch=steps_per_epoch,
                        loss=float(loss_sum) / epoch_images,
                        lr=optimizer.param_groups[0]["lr"],
                        images_per_s=images_seen / (now - started),
                        eta_s=(now - started) / done * (total_steps - done),
                    )
                )
        if stopped:
            break

        epoch_loss = _mean_over_ranks(loss_sum, epoch_images, world_size)
        entry = {
            "epoch": epoch + 1,
            "loss": epoch_loss,
            "lr": optimizer.param_groups[0]["lr"],
            "seconds": time.monotonic() - epoch_started,
            "images_per_s": epoch_images * world_size / (time.monotonic() - epoch_started),
        }
        if val_loader is not None:
            entry["val_accuracy"] = _accuracy(model, val_loader, recipe, run_device, classes)
        if spec.schedule == "plateau":
            scheduler.step(entry.get("val_accuracy", epoch_loss))
        history.append(entry)
        if rank == 0:
            checkpoints.save_atomic(
                _training_state(model, optimizer, scheduler, recipe, classes, epoch, history),
                last_path,
            )
        now = time.monotonic()
        done = (epoch + 1 - start_epoch) * steps_per_epoch
        report(
            Progress(
                epoch=epoch + 1,
                epochs=spec.epochs,
                step=steps_per_epoch,
                steps_per_epoch=steps_per_epoch,
                loss=epoch_loss,
                lr=entry["lr"],
                images_per_s=images_seen / (now - started),
                eta_s=(now - started) / done * (total_steps - done),
                epoch_done=True,
                val_accuracy=entry.get("val_accuracy"),
            )
        )

    epochs_completed = len(history)
    checkpoint: Path | None = last_path if last_path.exists() else None
    if not stopped:
        checkpoint = out_dir / checkpoints.FINAL
        if rank == 0:
            final = {
                "model": model.state_dict(),
                "recipe": recipe.to_dict(),
                "classes": list(classes),
                "history": history,
            }
            checkpoints.save_atomic(final, checkpoint)
    if world_size > 1:
        dist.barrier()
    return TrainResult(checkpoint, epochs_completed, stopped, classes, tuple(history))


@contextmanager
def _process_group() -> Iterator[None]:
    """Inside torchrun (WORLD_SIZE > 1), joins its process group for the run and leaves after."""
    if int(os.environ.get("WORLD_SIZE", "1")) == 1 or dist.is_initialized():
        yield
        return
    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    try:
        yield
    finally:
        dist.destroy_process_group()


def _ranks() -> tuple[int, int, int]:
    """(rank, world size, local rank), as torchrun sets them; one process otherwise."""
    env = os.environ
    return (
        int(env.get("RANK", "0")),
        int(env.get("WORLD_SIZE", "1")),
        int(env.get("LOCAL_RANK", "0")),
    )


def _classes(recipe: Recipe, rows: list[ManifestRow]) -> tuple[str, ...]:
    if recipe.model.head == "binary":
        return LABELS
    return recipe.model.classes or classes_for(rows)


def _normalisation(model: Detector) -> tuple[tuple[float, ...], tuple[float, ...]]:
    config = model.backbone.pretrained_cfg
    return tuple(config["mean"]), tuple(config["std"])


def _val_loader(recipe, rows, classes, mean, std):
    dataset = ManifestDataset(
        rows, eval_transform(recipe.data, mean, std), [target_of(row, classes) for row in rows]
    )
    return make_loader(dataset, batch_size=recipe.data.batch_size, workers=recipe.data.workers)


def _scheduler(recipe: Recipe, optimizer, updates_per_epoch: int, *, plateau_on_val: bool):
    spec = recipe.train
    if spec.schedule == "onecycle":
        # OneCycleLR divides by each phase's length in steps: both must stay above zero, even
        # for a run of one or two steps
        total = max(spec.epochs * updates_per_epoch, 2)
        warmup = max(spec.warmup, 1.5 / total)
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=spec.lr, total_steps=total, pct_start=warmup
        )
    # CNNDetection: divide the rate by 10 when validation accuracy has not risen by 0.1% for
    # `patience` epochs
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer,
        mode="max" if plateau_on_val else "min",
        factor=spec.plateau_factor,
        patience=spec.plateau_patience,
        threshold=1e-3,
        threshold_mode="abs",
    )


def _check_same_run(state: dict[str, Any], recipe: Recipe, classes, path: Path) -> None:
    if state["recipe"] != recipe.to_dict() or tuple(state["classes"]) != classes:
        raise CheckpointError(
            f"{path} was written by another recipe or class list; resume with the same recipe, "
            "or train into a fresh --out folder"
        )


def _loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    logits = logits.float()
    if logits.shape[1] == 1:
        return F.binary_cross_entropy_with_logits(logits[:, 0], targets.float())
    return F.cross_entropy(logits, targets)


def _agree_to_stop(should_stop, world_size: int, device: torch.device) -> bool:
    wanted = bool(should_stop and should_stop())
    if world_size == 1:
        return wanted
    flag = torch.tensor(float(wanted), device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)  # every rank must leave the loop together
    return bool(flag)


def _mean_over_ranks(loss_sum: torch.Tensor, n: int, world_size: int) -> float:
    totals = torch.stack(
        [loss_sum.detach().float(), torch.tensor(float(n), device=loss_sum.device)]
    )
    if world_size > 1:
        dist.all_reduce(totals)
    return float(totals[0] / totals[1])


def _accuracy(model, loader, recipe: Recipe, device, classes) -> float:
    """Share of validation images on the right side of p_fake = 0.5."""
    correct = total = 0
    targets = iter(loader.dataset.targets)
    for probs in predict(
        model,
        loader,
        device=device,
        precision=recipe.train.precision,
        channels_last=recipe.train.channels_last,
    ):
        is_fake = p_fake_of(probs, classes) >= 0.5
        for guess in is_fake.tolist():
            truth = classes[next(targets)] != "real"
            correct += guess == truth
            total += 1
    return correct / total


def _training_state(model, optimizer, scheduler, recipe, classes, epoch, history):
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": torch.get_rng_state(),
        "epoch": epoch + 1,
        "recipe": recipe.to_dict(),
        "classes": list(classes),
        "history": history,
    }
    if torch.cuda.is_available():
        state["cuda_rng"] = torch.cuda.get_rng_state()
    return state
