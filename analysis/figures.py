"""The report's plots, drawn with matplotlib's Agg backend into PNG files.

Every plot uses only the analysed trials (main trials of included participants), like the table.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from analysis.dataset import AnalysisData
from analysis.loaders import SCORE_PREFIX
from analysis.sdt import rating_roc, rating_scores

HUMAN_COLOUR = "#1b6ca8"
RUN_COLOURS = ("#d1495b", "#edae49", "#00798c", "#66a182", "#8d96a3", "#2e4057")
_BY_GROUP_DIMENSIONS = ("label", "generator", "category", "native_size")


def accuracy_by_group(table: pd.DataFrame, path: Path) -> Path:
    """People and each classifier run per group, with 95% intervals, one panel per dimension."""
    dimensions = [d for d in _BY_GROUP_DIMENSIONS if (table["dimension"] == d).any()]
    runs = _runs(table)
    heights = [max(1, table.loc[table["dimension"] == d, "group"].nunique()) for d in dimensions]
    fig, axes = plt.subplots(
        len(dimensions),
        1,
        figsize=(7.5, 1.2 + 0.42 * sum(heights) + 0.5 * len(dimensions)),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    for ax, dimension in zip(axes[:, 0], dimensions, strict=True):
        rows = table[table["dimension"] == dimension]
        humans = rows.drop_duplicates("group")
        y = np.arange(len(humans))
        offsets = np.linspace(-0.25, 0.25, len(runs) + 1)
        _dots(ax, humans, "human_acc", y + offsets[0], HUMAN_COLOUR, "people")
        for k, run in enumerate(runs):
            part = rows[rows["clf_run"] == run].set_index("group").loc[humans["group"]]
            _dots(ax, part.reset_index(), "clf_acc", y + offsets[k + 1], RUN_COLOURS[k], run)
        ax.set_yticks(y, humans["group"].astype(str))
        ax.invert_yaxis()
        ax.set_xlim(0, 1.02)
        ax.axvline(0.5, color="grey", lw=0.8, ls=":")
        ax.set_title(dimension.replace("_", " "), loc="left", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[-1, 0].set_xlabel("accuracy (95% CI; people: crossed bootstrap, classifier: over images)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
    return _save(fig, path, layout=False)


def roc(data: AnalysisData, path: Path) -> Path | None:
    """People's rating-scale ROC points (and their yes/no point) against each run's ROC curve."""
    if data.mode != "single" or len(data.trials) == 0:
        return None
    trials, items = data.trials, data.items
    is_fake = trials["is_fake"].to_numpy(bool)
    if is_fake.all() or not is_fake.any():
        return None
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    item_fake = items["is_fake"].to_numpy(bool)
    for k, run in enumerate(data.runs):
        scores = items[SCORE_PREFIX + run].to_numpy(float)
        keep = ~np.isnan(scores)
        if item_fake[keep].all() or not item_fake[keep].any():
            continue
        fpr, tpr, _ = roc_curve(item_fake[keep], scores[keep])
        ax.plot(fpr, tpr, color=RUN_COLOURS[k % len(RUN_COLOURS)], lw=1.6, label=f"{run} (ROC)")
    if data.has_confidence:
        score = rating_scores(trials["says_fake"].to_numpy(bool), trials["confidence"].to_numpy())
        rated = ~np.isnan(score)
        curve = rating_roc(is_fake[rated], score[rated])
        ax.plot(
            np.r_[0, curve.false_alarm_rates, 1],
            np.r_[0, curve.hit_rates, 1],
            "o--",
            color=HUMAN_COLOUR,
            ms=4,
            lw=1,
            label=f"people, confidence ratings (AUC {curve.auc:.3f})",
        )
    says_fake = trials["says_fake"].to_numpy(bool)
    ax.plot(
        says_fake[~is_fake].mean(),
        says_fake[is_fake].mean(),
        "s",
        color=HUMAN_COLOUR,
        ms=9,
        mec="black",
        label="people, real/fake answers",
    )
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":")
    ax.set_xlabel("false-alarm rate (real called fake)")
    ax.set_ylabel("hit rate (fake called fake)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_title("People vs classifier, all analysed images", fontsize=10)
    return _save(fig, path)


def accuracy_by_size(table: pd.DataFrame, path: Path) -> Path | None:
    """Accuracy against display size: people (with 95% CI band) and each run, plus people per
    generator as thin lines."""
    rows = table[table["dimension"] == "size"]
    if rows.empty:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    humans = rows.drop_duplicates("group").assign(size=lambda f: f["group"].astype(int))
    humans = humans.sort_values("size")
    ax.fill_between(
        humans["size"],
        humans["human_acc_low"],
        humans["human_acc_high"],
        color=HUMAN_COLOUR,
        alpha=0.15,
        lw=0,
    )
    ax.plot(humans["size"], humans["human_acc"], "o-", color=HUMAN_COLOUR, lw=2, label="people")
    for k, run in enumerate(_runs(table)):
        part = rows[rows["clf_run"] == run].assign(size=lambda f: f["group"].astype(int))
        part = part.sort_values("size")
        ax.errorbar(
            part["size"],
            part["clf_acc"],
            yerr=_yerr(part, "clf_acc"),
            fmt="s-",
            color=RUN_COLOURS[k % len(RUN_COLOURS)],
            capsize=3,
            label=run,
        )
    per_generator = table[table["dimension"] == "generator_size"].drop_duplicates("group")
    if not per_generator.empty:
        split = per_generator["group"].str.rsplit("|", n=1, expand=True)
        per_generator = per_generator.assign(generator=split[0], size=split[1].astype(int))
        for generator, part in per_generator.groupby("generator"):
            part = part.sort_values("size")
            ax.plot(part["size"], part["human_acc"], lw=0.8, alpha=0.6, color="grey")
            ax.annotate(
                str(generator),
                (part["size"].iloc[-1], part["human_acc"].iloc[-1]),
                fontsize=7,
                color="grey",
                xytext=(3, 0),
                textcoords="offset points",
            )
    ax.set_xscale("log", base=2)
    ax.set_xticks(humans["size"], humans["size"].astype(str))
    ax.set_xlabel("display size (px)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    ax.set_title("Accuracy by display size (grey: people per generator)", fontsize=10)
    return _save(fig, path)


def _runs(table: pd.DataFrame) -> list[str]:
    return [r for r in table["clf_run"].dropna().unique().tolist()]


def _yerr(rows: pd.DataFrame, column: str) -> np.ndarray:
    estimate = rows[column].to_numpy(float)
    low = np.nan_to_num(estimate - rows[f"{column}_low"].to_numpy(float), nan=0.0)
    high = np.nan_to_num(rows[f"{column}_high"].to_numpy(float) - estimate, nan=0.0)
    return np.vstack([np.clip(low, 0, None), np.clip(high, 0, None)])


def _dots(ax, rows: pd.DataFrame, column: str, y: np.ndarray, colour: str, label: str) -> None:
    ax.errorbar(
        rows[column].to_numpy(float),
        y,
        xerr=_yerr(rows, column),
        fmt="o",
        color=colour,
        ms=5,
        capsize=2,
        label=label,
    )


def _save(fig, path: Path, layout: bool = True) -> Path:
    if layout:
        fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
