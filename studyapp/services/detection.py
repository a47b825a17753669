"""Detector runs on the platform's own images: training from a filter, scoring a study.

The detector sees exactly what volunteers see: it trains on, and scores, the display variants
(re-encoded identically for real and generated images, so it cannot learn file-format
shortcuts). Checkpoints go through Django storage after every epoch, so a run re-delivered to
another worker resumes where the lost one stopped. Both services are idempotent: a finished run
is not trained again, and scores are upserted, so re-running changes nothing.
"""

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from detector.errors import DetectorError
from studyapp.errors import BeholderError
from studyapp.models import DetectorRun, Image, ImageVariant, Score, Study
from studyapp.selectors.pool import study_pool

log = logging.getLogger(__name__)

RECIPES_DIR = settings.BASE_DIR / "experiments"
WRITE_INTERVAL_S = 2.0  # progress and cancellation are read from / written to the DB this often
SCORE_BATCH = 500


class RunNotReady(BeholderError):
    """Scoring needs a run that finished training."""

    http_status = 409


class QueueUnavailable(BeholderError):
    """The task broker cannot be reached: nothing was queued."""

    http_status = 503


def recipe_names() -> list[str]:
    return sorted(path.name for path in RECIPES_DIR.glob("*.toml"))


def detector_run_create(
    *,
    name: str,
    recipe: str,
    overrides: dict | None = None,
    training_filter: dict | None = None,
    then_score: Study | None = None,
) -> DetectorRun:
    """Creates a run and queues its training once the transaction commits, followed by scoring
    `then_score` when training succeeds."""
    run = DetectorRun.objects.create(
        name=name, recipe=recipe, overrides=overrides or {}, training_filter=training_filter or {}
    )
    transaction.on_commit(lambda: detector_run_enqueue(run=run, then_score=then_score))
    return run


def detector_run_enqueue(*, run: DetectorRun, then_score: Study | None = None) -> None:
    from studyapp.tasks import score_images, train_detector

    try:
        if then_score is None:
            task_id = _send(lambda: train_detector.delay(run.pk)).id
        else:
            # a chain: scoring starts only once training has ended without an exception
            work = train_detector.si(run.pk) | score_images.si(run.pk, then_score.pk)
            task_id = _send(work.delay).parent.id
    except QueueUnavailable as exc:
        _fail(run, str(exc))  # said on the run's page, rather than a run queued for ever
        return
    DetectorRun.objects.filter(pk=run.pk).update(task_id=task_id)


def _send(publish: Callable):
    """Publishes to the broker; one that stays down through Celery's publish retries is a
    clear error that names it."""
    from kombu.exceptions import OperationalError

    try:
        return publish()
    except OperationalError as exc:
        raise QueueUnavailable(
            f"The task queue is unreachable ({exc}), so nothing was queued. "
            "Try again once it is back."
        ) from exc


def detector_run_cancel(*, run: DetectorRun) -> None:
    """Stops a queued or running run: the training loop checks between batches."""
    from studyapp.celery import app

    if run.status in (DetectorRun.Status.QUEUED, DetectorRun.Status.RUNNING):
        run.status = DetectorRun.Status.CANCELLED
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "finished_at"])
        if run.task_id:
            app.control.revoke(run.task_id)


def training_images(training_filter: dict) -> QuerySet[Image]:
    """The images a filter selects for training, never one in a live study's pool (those are
    the images people judge; a detector trained on them would be scored on its training set)."""
    images = _filtered(training_filter).filter(
        split__in=training_filter.get("splits", ["train", "val", ""])
    )
    for study in Study.objects.filter(status=Study.Status.LIVE):
        images = images.exclude(pk__in=study_pool(study).values("pk"))
    return images


def detector_run_train(*, run_id: int) -> None:
    """Trains the run (resuming from its last checkpoint), evaluates it on the held-out test
    split and stores the final checkpoint. Permanent errors end the run as failed."""
    # torch loads in workers only, not in every web process that imports this module
    from detector.recipes import load_recipe
    from detector.training import train

    run = DetectorRun.objects.get(pk=run_id)
    if run.status not in (DetectorRun.Status.QUEUED, DetectorRun.Status.RUNNING):
        log.info("run %s is %s: nothing to do", run.name, run.status)
        return
    DetectorRun.objects.filter(pk=run.pk).update(
        status=DetectorRun.Status.RUNNING, started_at=run.started_at or timezone.now()
    )
    try:
        recipe = load_recipe(RECIPES_DIR / run.recipe, run.overrides)
        workdir = _workdir(run)
        size = run.training_filter.get("size") or _training_size(recipe.data.crop)
        manifest, _ = _write_manifest(
            workdir / "train.jsonl",
            training_images(run.training_filter),
            size,
            default_split="train",
        )
        done = _restore_last_checkpoint(run, workdir / "train")
        if done:
            log.warning("run %s: resuming after epoch %d from its last checkpoint", run.name, done)
            _set_progress(run, {"resumed_after_epoch": done})
        reporter = _ProgressReporter(run)
        result = train(
            recipe,
            manifest,
            workdir / "train",
            on_progress=reporter,
            should_stop=_cancel_check(run),
        )
        if result.stopped:
            log.info("run %s cancelled after %d epochs", run.name, result.epochs_completed)
            return
        metrics = _evaluate(result.checkpoint, run, size, workdir)
        with result.checkpoint.open("rb") as handle:
            stored = _store(f"checkpoints/{_run_key(run)}/model.pt", handle)
    except DetectorError as exc:
        _fail(run, str(exc))
        return
    DetectorRun.objects.filter(pk=run.pk).update(
        status=DetectorRun.Status.SUCCEEDED,
        checkpoint=stored,
        metrics=metrics,
        finished_at=timezone.now(),
    )
    log.info("run %s succeeded", run.name)


def detector_run_score(*, run_id: int, study_id: int) -> int:
    """Scores every variant the study shows (pool, practice and attention-check images, at each
    display size) and upserts one Score per run × image × size. Returns the number of scores."""
    from detector.scoring import score

    run = DetectorRun.objects.get(pk=run_id)
    study = Study.objects.get(pk=study_id)
    if run.status != DetectorRun.Status.SUCCEEDED or not run.checkpoint:
        raise RunNotReady(f"run {run.name} has not finished training ({run.status})")
    workdir = _workdir(run)
    checkpoint = _local_file(run.checkpoint.name, workdir / "model.pt")
    shown = Image.objects.filter(
        Q(pk__in=study_pool(study).values("pk"))
        | Q(pk__in=study.practice_images.values("pk"))
        | Q(dataset__in=study.datasets.all(), attention_check=True)
    )
    total = 0
    for size in study.display_sizes:
        manifest, image_of = _write_manifest(
            workdir / f"score-{study.slug}-{size}.jsonl", shown, size
        )
        rows = score(checkpoint, manifest, workers=0)
        scores = [
            Score(
                run=run,
                image_id=image_of[row.path],
                size=size,
                p_fake=row.p_fake,
                class_probs=dict(row.probs) if len(row.probs) > 2 else None,
            )
            for row in rows
        ]
        for start in range(0, len(scores), SCORE_BATCH):
            with transaction.atomic():
                Score.objects.bulk_create(
                    scores[start : start + SCORE_BATCH],
                    update_conflicts=True,
                    unique_fields=["run", "image", "size"],
                    update_fields=["p_fake", "class_probs"],
                )
        total += len(scores)
    log.info("run %s scored %d variants of study %s", run.name, total, study.slug)
    return total


def _training_size(crop: int) -> int:
    """The smallest display size the recipe's input crop fits in: the cheapest variant to
    decode that needs no further upsampling."""
    sizes = sorted(settings.BEHOLDER_VARIANT_SIZES)
    return next((size for size in sizes if size >= crop), sizes[-1])


def _filtered(training_filter: dict) -> QuerySet[Image]:
    images = Image.objects.filter(attention_check=False)
    if training_filter.get("datasets"):
        images = images.filter(dataset__name__in=training_filter["datasets"])
    if training_filter.get("generators"):
        images = images.filter(
            Q(label="real") | Q(generator__name__in=training_filter["generators"])
        )
    if training_filter.get("categories"):
        images = images.filter(category__name__in=training_filter["categories"])
    return images


def _write_manifest(
    path: Path, images: QuerySet[Image], size: int, *, default_split: str | None = None
) -> tuple[Path, dict[str, int]]:
    """A detector manifest of the images' variants at `size`, as local files; also each
    manifest path's image id."""
    variants = ImageVariant.objects.filter(image__in=images, size=size).select_related(
        "image__generator", "image__category"
    )
    cache = path.parent / "files"
    lines, image_of = [], {}
    for variant in variants.order_by("image_id"):
        image = variant.image
        local = str(_local_file(variant.file.name, cache / Path(variant.file.name).name))
        image_of[local] = image.pk
        row = {
            "path": local,
            "label": image.label,
            "generator": image.generator.name if image.generator else None,
            "category": image.category.name if image.category else None,
            "split": image.split or default_split,
        }
        lines.append(json.dumps(row))
    if not lines:
        raise DetectorError(f"no images with {size}px variants match this run's filter")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path, image_of


def _local_file(name: str, cache_path: Path) -> Path:
    """A storage file as a local path: the file itself on local storage, else a cached copy."""
    try:
        return Path(default_storage.path(name))
    except NotImplementedError:  # object storage
        if not cache_path.exists():
            _download(name, cache_path)
        return cache_path


def _download(name: str, target: Path) -> None:
    """Copies a storage file to `target`, which appears whole or not at all."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with default_storage.open(name, "rb") as source:
        partial.write_bytes(source.read())
    partial.replace(target)


def _store(name: str, handle) -> str:
    """Saves under exactly `name`, replacing what was there."""
    default_storage.delete(name)
    return default_storage.save(name, File(handle))


def _run_key(run: DetectorRun) -> str:
    """Folder name of a run's files: the pk keeps a deleted run's leftovers from a new one."""
    return f"{run.pk}-{run.name}"


def _workdir(run: DetectorRun) -> Path:
    path = Path(settings.BEHOLDER_WORK_DIR) / "runs" / _run_key(run)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _restore_last_checkpoint(run: DetectorRun, train_dir: Path) -> int:
    """Brings the stored last-epoch checkpoint here if this machine lacks it; returns how many
    epochs it holds (0 when the run starts afresh)."""
    from detector import checkpoints

    local = train_dir / checkpoints.LAST
    stored = f"checkpoints/{_run_key(run)}/{checkpoints.LAST}"
    if not local.exists() and default_storage.exists(stored):
        _download(stored, local)
    return checkpoints.load(local)["epoch"] if local.exists() else 0


class _ProgressReporter:
    """Writes progress to the run at a sensible rate, and each finished epoch's checkpoint to
    storage so that another worker can resume."""

    def __init__(self, run: DetectorRun) -> None:
        self.run = run
        self.last_write = 0.0
        self.history = {h["epoch"]: h for h in run.progress.get("history", [])}

    def __call__(self, progress) -> None:  # detector.training.Progress
        now = time.monotonic()
        if progress.epoch_done:
            from detector import checkpoints

            self.history[progress.epoch] = {
                "epoch": progress.epoch,
                "loss": progress.loss,
                "val_accuracy": progress.val_accuracy,
            }
            last = _workdir(self.run) / "train" / checkpoints.LAST
            with last.open("rb") as handle:
                _store(f"checkpoints/{_run_key(self.run)}/{checkpoints.LAST}", handle)
        elif now - self.last_write < WRITE_INTERVAL_S:
            return
        self.last_write = now
        fields = asdict(progress)
        fields["history"] = [self.history[e] for e in sorted(self.history)]
        _set_progress(self.run, fields)


def _set_progress(run: DetectorRun, fields: dict) -> None:
    run.progress = {**run.progress, **fields}
    DetectorRun.objects.filter(pk=run.pk).update(progress=run.progress)


def _cancel_check(run: DetectorRun) -> Callable[[], bool]:
    last = {"at": 0.0, "cancelled": False}

    def should_stop() -> bool:
        now = time.monotonic()
        if now - last["at"] >= WRITE_INTERVAL_S:
            last["at"] = now
            status = DetectorRun.objects.filter(pk=run.pk).values_list("status", flat=True).get()
            last["cancelled"] = status == DetectorRun.Status.CANCELLED
        return last["cancelled"]

    return should_stop


def _evaluate(checkpoint: Path, run: DetectorRun, size: int, workdir: Path) -> dict:
    """The CNNDetection-style table on the held-out test split of the run's images."""
    from detector.evaluation import evaluate_scores
    from detector.scoring import score

    test_images = _filtered(run.training_filter).filter(split="test")
    if not test_images.exists():
        return {"note": "no test split to evaluate on"}
    manifest, _ = _write_manifest(workdir / "test.jsonl", test_images, size)
    table = evaluate_scores(score(checkpoint, manifest, workers=0))
    return {
        "size": size,
        "threshold": table.threshold,
        "rows": [asdict(row) for row in table.rows],
        "attribution_accuracy": table.attribution_accuracy,
    }


def _fail(run: DetectorRun, error: str) -> None:
    log.warning("run %s failed: %s", run.name, error)
    DetectorRun.objects.filter(pk=run.pk).update(
        status=DetectorRun.Status.FAILED, error=error, finished_at=timezone.now()
    )


def study_score_enqueue(*, run: DetectorRun, study: Study) -> None:
    """Queues scoring of every variant the study shows with the run's detector."""
    from studyapp.tasks import score_images

    if run.status != DetectorRun.Status.SUCCEEDED:
        raise RunNotReady(f"run {run.name} has not finished training ({run.status})")
    transaction.on_commit(lambda: _send(lambda: score_images.delay(run.pk, study.pk)))
