"""python -m analysis.compare — people vs classifiers on the same images.

    python -m analysis.compare --study SLUG --out DIR
    python -m analysis.compare --responses responses.csv --images labelled-set.jsonl --out DIR

Writes to DIR: summary.csv (columns documented in analysis.summary), mixed_model.csv, report.md,
report.html (self-contained), the figures as PNG and the gallery thumbnails.
"""

import argparse
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import figures
from analysis.dataset import build_analysis_data
from analysis.gallery import pick_gallery, write_thumbnails
from analysis.loaders import (
    AnalysisInputError,
    clean_images,
    clean_responses,
    read_images,
    read_responses,
)
from analysis.mixed import METHODS, fit_mixed_model
from analysis.report import ReportInputs, build_blocks, write_html, write_markdown
from analysis.shortcut import facts_from_files, shortcut_audit
from analysis.summary import summarise


@dataclass(frozen=True)
class Options:
    """Settings of one analysis run (the CLI's options)."""

    include_simulated: bool = False
    n_boot: int = 1000
    seed: int = 0
    mixed: bool = True
    mixed_method: str = "laplace"
    mixed_boot: int = 50
    mixed_max_responses: int = 100_000
    gallery_size: int = 8
    gallery_min_responses: int = 3
    progress: bool = False


@dataclass(frozen=True)
class Outputs:
    """Paths of what was written."""

    summary_csv: Path
    mixed_csv: Path | None
    report_md: Path
    report_html: Path
    figures: dict[str, Path]


def run_analysis(
    responses: pd.DataFrame,
    images: pd.DataFrame,
    out: Path,
    *,
    source: str,
    options: Options = Options(),
) -> Outputs:
    """The whole analysis of two clean tables (see analysis.loaders) into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    say = _stage_printer(options.progress)
    say("selecting trials")
    data = build_analysis_data(responses, images, include_simulated=options.include_simulated)
    say(data.exclusions.summary())
    say(f"summarising {len(data.trials)} responses with {options.n_boot} bootstrap replicates")
    summary = summarise(data, n_boot=options.n_boot, seed=options.seed, progress=options.progress)
    summary_csv = out / "summary.csv"
    summary.table.to_csv(summary_csv, index=False)
    mixed, mixed_error, mixed_csv = None, None, None
    if options.mixed and len(data.trials):
        trials = _cap_participants(data.trials, options.mixed_max_responses, options.seed)
        say(f"fitting the mixed model on {len(trials)} responses ({options.mixed_method})")
        try:
            mixed = fit_mixed_model(
                trials,
                method=options.mixed_method,
                n_boot=options.mixed_boot,
                seed=options.seed,
                progress=options.progress,
            )
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
            mixed_error = f"The mixed model could not be fitted: {exc}"
        if mixed is not None:
            mixed_csv = out / "mixed_model.csv"
            mixed.table.to_csv(mixed_csv, index=False)
            if len(trials) < len(data.trials):
                note = (
                    f"Fitted on a random subset of participants: {len(trials)} of "
                    f"{len(data.trials)} responses (--mixed-max-responses)."
                )
                mixed = replace(mixed, note=f"{mixed.note} {note}".strip())
    say("auditing file facts")
    audits = _audits(images)
    for audit in audits:
        if audit.flagged:
            print(f"WARNING: {audit.summary()}", file=sys.stderr)
    say("drawing figures")
    drawn = {
        "accuracy_by_group": figures.accuracy_by_group(
            summary.table, out / "accuracy_by_group.png"
        ),
        "roc": figures.roc(data, out / "roc.png"),
        "accuracy_by_size": figures.accuracy_by_size(summary.table, out / "accuracy_by_size.png"),
    }
    drawn = {name: path for name, path in drawn.items() if path is not None}
    galleries = [
        write_thumbnails(
            pick_gallery(
                summary.items,
                run,
                n=options.gallery_size,
                min_responses=options.gallery_min_responses,
            ),
            out / "gallery" / run,
            summary.items,
        )
        for run in data.runs
    ]
    blocks = build_blocks(
        ReportInputs(source, data, summary, drawn, audits, mixed, mixed_error, galleries)
    )
    report_md = write_markdown(blocks, out / "report.md")
    report_html = write_html(blocks, out / "report.html")
    say(f"wrote {summary_csv}, {report_md}, {report_html}")
    return Outputs(summary_csv, mixed_csv, report_md, report_html, drawn)


def _audits(images: pd.DataFrame) -> list:
    per_image = images.drop_duplicates("image")
    audits = [shortcut_audit(per_image, source="originals")]
    has_files = images["path"].notna()
    if has_files.any():
        shown = facts_from_files(images.loc[has_files, "path"])
        shown["label"] = images.loc[has_files, "label"].to_numpy()
        audits.append(shortcut_audit(shown, source="files as shown (variants at `path`)"))
    return audits


def _cap_participants(trials: pd.DataFrame, cap: int, seed: int) -> pd.DataFrame:
    """All trials, or those of a random subset of participants holding about `cap` responses."""
    if cap <= 0 or len(trials) <= cap:
        return trials
    counts = trials["participant"].value_counts().sample(frac=1.0, random_state=seed)
    chosen = counts.index[counts.cumsum().to_numpy() <= cap]
    return trials[trials["participant"].isin(chosen)]


def _stage_printer(enabled: bool):
    def say(message: str) -> None:
        if enabled:
            print(f"[analysis] {message}", file=sys.stderr, flush=True)

    return say


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.compare",
        description=(
            "Compare how well people and classifiers tell real photos from generated images, "
            "on the same images at the same display sizes. Reads a study from the database "
            "(--study) or the platform's two exports (--responses and --images), and writes "
            "summary.csv, mixed_model.csv, report.md, a self-contained report.html and the "
            "figures (PNG) to --out. Practice and attention-check trials and excluded "
            "participants are always left out; simulated participants unless "
            "--include-simulated."
        ),
        epilog=(
            "Intervals come from a crossed bootstrap that resamples participants and images "
            "together (Poisson weights per participant and per image); summary.csv's columns are "
            "listed in the docstring of analysis/summary.py. Progress goes to stderr."
        ),
    )
    source = parser.add_argument_group("input (either --study, or --responses and --images)")
    source.add_argument(
        "--study", metavar="SLUG", help="read the study with this slug from the database"
    )
    source.add_argument(
        "--responses",
        type=Path,
        metavar="FILE",
        help="responses export (/api/v1/studies/<slug>/responses?format=csv|jsonl)",
    )
    source.add_argument(
        "--images",
        type=Path,
        metavar="FILE",
        help="labelled-set export with classifier scores (?format=jsonl|csv)",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--include-simulated",
        action="store_true",
        help="keep the responses of simulated participants (left out by default)",
    )
    stats = parser.add_argument_group("statistics")
    stats.add_argument(
        "--n-boot",
        type=int,
        default=1000,
        metavar="N",
        help="crossed-bootstrap replicates for the intervals of accuracy, d′ and differences "
        "(default: %(default)s)",
    )
    stats.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random seed of the bootstrap, subsets and cross-validation (default: %(default)s)",
    )
    stats.add_argument(
        "--no-mixed", action="store_true", help="skip the mixed-effects logistic regression"
    )
    stats.add_argument(
        "--mixed-method",
        choices=METHODS,
        default="laplace",
        help="mixed-model fit: laplace (lme4 glmer nAGQ=0 equivalent, fast) or vb (statsmodels "
        "BinomialBayesMixedGLM variational Bayes, slow on large studies) (default: %(default)s)",
    )
    stats.add_argument(
        "--mixed-boot",
        type=int,
        default=50,
        metavar="N",
        help="crossed-bootstrap refits for the mixed model's intervals, 0 for none "
        "(default: %(default)s)",
    )
    stats.add_argument(
        "--mixed-max-responses",
        type=int,
        default=100_000,
        metavar="N",
        help="fit the mixed model on a random subset of participants holding at most N "
        "responses, 0 for all; the report says when a subset was used (default: %(default)s)",
    )
    report = parser.add_argument_group("report")
    report.add_argument(
        "--gallery-size",
        type=int,
        default=8,
        metavar="N",
        help="images per gallery list (default: %(default)s)",
    )
    report.add_argument(
        "--gallery-min-responses",
        type=int,
        default=3,
        metavar="N",
        help="only images with at least N responses enter the gallery (default: %(default)s)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress messages or progress bars on stderr"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.study and (args.responses or args.images):
        parser.error("give either --study or --responses/--images, not both")
    if not args.study and not (args.responses and args.images):
        parser.error("give --study SLUG, or both --responses FILE and --images FILE")
    options = Options(
        include_simulated=args.include_simulated,
        n_boot=args.n_boot,
        seed=args.seed,
        mixed=not args.no_mixed,
        mixed_method=args.mixed_method,
        mixed_boot=args.mixed_boot,
        mixed_max_responses=args.mixed_max_responses,
        gallery_size=args.gallery_size,
        gallery_min_responses=args.gallery_min_responses,
        progress=not args.quiet,
    )
    try:
        if args.study:
            from analysis._django import load_study

            responses, images = load_study(args.study, include_simulated=args.include_simulated)
            responses, images = clean_responses(responses), clean_images(images)
            source = f"study `{args.study}` (database)"
        else:
            responses, images = read_responses(args.responses), read_images(args.images)
            source = f"exports `{args.responses.name}` and `{args.images.name}`"
        run_analysis(responses, images, args.out, source=source, options=options)
    except (AnalysisInputError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
