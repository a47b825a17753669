"""Analysis at scale (DESIGN §5): 1,000,000 responses over 20,000 images × 3 display sizes.

Times the full summary with crossed-bootstrap intervals (trial selection, every group statistic,
1,000 replicates) and reports the process's peak memory; the targets are ≤ 60 s and ≤ 4 GB on the
2-core machine. The mixed model is timed separately on a 100,000-response subset of participants.

    python bench/analysis_scale.py [--responses 1000000] [--images 20000] [--n-boot 1000]
"""

import argparse
import resource
import time

from analysis.dataset import build_analysis_data
from analysis.loaders import clean_images, clean_responses
from analysis.mixed import fit_mixed_model
from analysis.simulate import StudySpec, simulate_study
from analysis.summary import summarise

GROUPS = ("real", "SD1.5", "SDXL", "MJv6", "DALLE3")


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--trials", type=int, default=100, help="trials per participant")
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--mixed-responses", type=int, default=100_000)
    parser.add_argument("--mixed-boot", type=int, default=10)
    args = parser.parse_args()

    spec = StudySpec(
        n_participants=args.responses // args.trials,
        trials_per_participant=args.trials,
        images_per_group=args.images // len(GROUPS),
        sizes=(256, 512, 1024),
        human_acc={"real": 0.7, "SD1.5": 0.8, "SDXL": 0.65, "MJv6": 0.6, "DALLE3": 0.7},
        clf_acc={"cnn": 0.95, "vit": 0.9},
        categories=("faces", "scenes", "animals", "art"),
    )
    started = time.perf_counter()
    raw_responses, raw_images = simulate_study(spec, seed=0)
    print(
        f"generated {len(raw_responses):,} responses over {raw_images['image'].nunique():,} "
        f"images × {len(spec.sizes)} sizes in {time.perf_counter() - started:.1f} s "
        f"(peak RSS so far {peak_rss_gib():.2f} GiB)"
    )

    started = time.perf_counter()
    responses, images = clean_responses(raw_responses), clean_images(raw_images)
    del raw_responses, raw_images
    cleaned = time.perf_counter()
    data = build_analysis_data(responses, images, include_simulated=True)
    selected = time.perf_counter()
    summary = summarise(data, n_boot=args.n_boot, seed=0, progress=True)
    done = time.perf_counter()
    print(
        f"summary: {len(summary.table)} rows, {args.n_boot} bootstrap replicates\n"
        f"  clean dtypes      {cleaned - started:6.1f} s\n"
        f"  select + join     {selected - cleaned:6.1f} s\n"
        f"  summarise + CIs   {done - selected:6.1f} s\n"
        f"  total             {done - started:6.1f} s   (target ≤ 60 s)\n"
        f"peak memory (RSS, whole process): {peak_rss_gib():.2f} GiB   (target ≤ 4 GiB)"
    )

    trials = data.trials
    participants = (
        trials["participant"].drop_duplicates().iloc[: max(1, args.mixed_responses // args.trials)]
    )
    subset = trials[trials["participant"].isin(participants)]
    started = time.perf_counter()
    fit = fit_mixed_model(subset, n_boot=0)
    fitted = time.perf_counter()
    fit_mixed_model(subset, n_boot=args.mixed_boot, seed=0, progress=True)
    booted = time.perf_counter()
    print(
        f"mixed model on {len(subset):,} responses ({fit.n_participants} participants, "
        f"{fit.n_images} images): fit {fitted - started:.1f} s; fit with "
        f"{args.mixed_boot} crossed-bootstrap refits {booted - fitted:.1f} s"
    )


if __name__ == "__main__":
    main()
