"""`python -m detector train|score|evaluate` (DESIGN §3)."""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from collections.abc import Sequence
from typing import Any

from tqdm import tqdm

from detector.errors import DetectorError
from detector.evaluation import evaluate_scores
from detector.recipes import load_recipe
from detector.scoring import read_scores_csv, score, write_scores_csv
from detector.training import Progress, train

DESCRIPTION = """\
Train, score and evaluate real-vs-generated image classifiers on image manifests.

A manifest is JSONL, one image a line: {"path": "...", "label": "real"|"fake", "generator": ...,
"category": ..., "split": "train"|"val"|"test"}; `path` is relative to the manifest's folder or
absolute; other keys are ignored, so a labelled-set export is a manifest too.

examples:
  python -m detector train --config experiments/tiny_cpu.toml --manifest M.jsonl --out runs/tiny
  python -m detector score --checkpoint runs/tiny/model.pt --manifest M.jsonl --out scores.csv
  python -m detector evaluate --checkpoint runs/tiny/model.pt --manifest M.jsonl --split test
  python -m detector evaluate --scores scores.csv
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except DetectorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m detector",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser(
        "train",
        help="train a recipe on a manifest (resumes from OUT/last.pt)",
        description="Train a recipe (experiments/*.toml) on a manifest's training split. "
        "Checkpoints OUT/last.pt after every epoch and resumes from it when run again with the "
        "same OUT; writes OUT/model.pt at the end. Under torchrun it trains with DDP.",
    )
    p.add_argument("--config", required=True, help="recipe TOML, e.g. experiments/tiny_cpu.toml")
    p.add_argument("--manifest", required=True, help="JSONL manifest of labelled images")
    p.add_argument("--out", required=True, help="folder for checkpoints")
    p.add_argument(
        "--split",
        default="train",
        help="manifest split to train on (default train; 'all' for every row, e.g. a manifest "
        "without splits)",
    )
    p.add_argument(
        "--val-split",
        default="val",
        help="split reported per epoch and driving plateau schedules, if present (default val)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe key, VALUE in TOML syntax (a bare word is a string, nothing "
        "restores the default): --set train.epochs=2 --set model.pretrained=",
    )
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: a GPU if there is one)")
    p.set_defaults(run=_train)

    p = commands.add_parser(
        "score",
        help="write p_fake for every image of a manifest",
        description="Score a manifest with a checkpoint. Writes a CSV with columns path, label, "
        "p_fake, generator, category, split (and p_<class> for N-way heads); `path` is as "
        "written in the manifest.",
    )
    _scoring_arguments(p)
    p.add_argument("--out", required=True, help="CSV file to write")
    p.set_defaults(run=_score)

    p = commands.add_parser(
        "evaluate",
        help="per-generator accuracy on real, on fake, AP, AUC and ECE",
        description="Print the per-generator table (accuracy on real, on fake and overall at "
        "the threshold, AP, ROC AUC, expected calibration error) from a checkpoint and a "
        "manifest, or from a scores CSV written by `score`.",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--scores", help="a CSV written by `python -m detector score`")
    source.add_argument("--checkpoint", help="model.pt (or last.pt) of a training run")
    p.add_argument("--manifest", help="JSONL manifest (with --checkpoint)")
    p.add_argument("--split", help="score only this split, e.g. test")
    p.add_argument("--size", type=int, help="score the display variant of this size (px)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, default=2, help="decoding processes (default 2)")
    p.add_argument("--device", help="cpu, cuda ... (default: a GPU if there is one)")
    p.add_argument("--threshold", type=float, default=0.5, help="p_fake at or above = fake")
    p.add_argument("--out", help="also write the table as CSV here")
    p.set_defaults(run=_evaluate)
    return parser


def _scoring_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="model.pt (or last.pt) of a training run")
    p.add_argument("--manifest", required=True, help="JSONL manifest of images")
    p.add_argument("--split", help="score only this split, e.g. test")
    p.add_argument(
        "--size",
        type=int,
        help="score each image as the display variant volunteers see at this size (px): "
        "long side resized, JPEG re-encoded",
    )
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, default=2, help="decoding processes (default 2)")
    p.add_argument("--device", help="cpu, cuda ... (default: a GPU if there is one)")


def _train(args: argparse.Namespace) -> int:
    recipe = load_recipe(args.config, dict(_override(item) for item in args.set))
    # under torchrun every rank runs this; rank 0 speaks for all
    quiet = os.environ.get("RANK", "0") != "0"
    bar = tqdm(unit="batch", dynamic_ncols=True, disable=quiet)
    shown_epoch = 0

    def on_progress(progress: Progress) -> None:
        nonlocal shown_epoch
        if progress.epoch != shown_epoch:
            shown_epoch = progress.epoch
            bar.reset(total=progress.steps_per_epoch)
            bar.set_description(f"epoch {progress.epoch}/{progress.epochs}")
        bar.update(progress.step - bar.n)
        postfix = {"loss": f"{progress.loss:.4f}", "lr": f"{progress.lr:.2e}"}
        if progress.val_accuracy is not None:
            postfix["val_acc"] = f"{progress.val_accuracy:.4f}"
        bar.set_postfix(postfix)
        if progress.epoch_done:
            summary = ", ".join(f"{key} {value}" for key, value in postfix.items())
            bar.write(f"epoch {progress.epoch}/{progress.epochs}: {summary}")

    try:
        result = train(
            recipe,
            args.manifest,
            args.out,
            split=None if args.split == "all" else args.split,
            val_split=args.val_split,
            device=args.device,
            on_progress=on_progress,
        )
    finally:
        bar.close()
    if not quiet:
        print(f"{result.epochs_completed} epochs; checkpoint {result.checkpoint}")
    return 0


def _score_rows(args: argparse.Namespace):
    with tqdm(unit="img", dynamic_ncols=True, desc="scoring") as bar:

        def on_progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        return score(
            args.checkpoint,
            args.manifest,
            split=args.split,
            size=args.size,
            batch_size=args.batch_size,
            workers=args.workers,
            device=args.device,
            on_progress=on_progress,
        )


def _score(args: argparse.Namespace) -> int:
    rows = _score_rows(args)
    write_scores_csv(rows, args.out)
    print(f"{len(rows)} images scored into {args.out}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    if args.checkpoint and not args.manifest:
        raise SystemExit("error: --checkpoint needs --manifest")
    rows = read_scores_csv(args.scores) if args.scores else _score_rows(args)
    table = evaluate_scores(rows, threshold=args.threshold)
    print(table.summary())
    if args.out:
        table.write_csv(args.out)
    return 0


def _override(item: str) -> tuple[str, Any]:
    key, sep, text = item.partition("=")
    if not sep:
        raise SystemExit(f"error: --set {item!r} must be KEY=VALUE")
    if not text.strip():
        return key.strip(), None  # KEY= restores the default
    try:
        value = tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        value = text  # a bare word, e.g. --set model.name=convnext_tiny
    return key.strip(), value
