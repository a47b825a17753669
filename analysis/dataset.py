"""From the two exported tables to the analysable trials and the items they were shown.

Only main trials count: practice and attention-check trials, every trial of an excluded participant,
simulated participants (unless asked for), unanswered trials and trials whose image × size has no
row in the images table are left out, and `Exclusions` counts each reason for the report.

An *item* is what a person judged and a classifier scored: one image at one display size (single
mode), or one left/right pair at one display size (pair mode, where the participant picks the
generated image and the classifier is right when it scores the generated one higher). The *unit*
is what the bootstrap resamples on the image side: the image (all its sizes together) in single
mode, the pair in pair mode. A pair's generator, category and native size are those of its
generated image.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.loaders import SCORE_PREFIX, AnalysisInputError, score_runs

NATIVE_BUCKETS = ("<=256", "<=512", "<=1024", ">1024")
NO_CATEGORY = "(none)"
UNKNOWN_GENERATOR = "(unknown)"


@dataclass(frozen=True)
class Exclusions:
    """How many responses of the export were left out, and why."""

    n_responses: int
    n_practice: int
    n_attention: int
    n_excluded: int
    n_excluded_participants: int
    n_simulated: int
    n_simulated_participants: int
    n_unanswered: int
    n_unmatched: int
    n_used: int

    def summary(self) -> str:
        return (
            f"{self.n_used} of {self.n_responses} responses analysed; left out: "
            f"{self.n_practice} practice, {self.n_attention} attention-check, "
            f"{self.n_excluded} from {self.n_excluded_participants} excluded participants, "
            f"{self.n_simulated} from {self.n_simulated_participants} simulated participants, "
            f"{self.n_unanswered} unanswered, {self.n_unmatched} without an image row"
        )


@dataclass(frozen=True)
class AnalysisData:
    """`trials`: one row per analysed response (participant, item, unit, correct, says_fake, vote
    — "fake" in single mode, "left" in pair mode —, confidence, rt_ms, is_fake, generator, size,
    category). `items`: one row per item shown (item,
    unit, image, image_other, size, is_fake, generator, category, native_size, url, path, and per
    run `score_<run>` and `clf_correct_<run>`), indexed by item code."""

    trials: pd.DataFrame
    items: pd.DataFrame
    runs: list[str]
    mode: str
    has_confidence: bool
    exclusions: Exclusions


def native_size_bucket(width: pd.Series, height: pd.Series) -> pd.Series:
    """The original's short side bucketed ≤256, ≤512, ≤1024, >1024 (missing when unknown)."""
    short = np.fmin(width.astype("Float64"), height.astype("Float64")).astype(float)
    codes = np.searchsorted([256, 512, 1024], short, side="left")
    labels = np.array(NATIVE_BUCKETS, dtype=object)[np.minimum(codes, 3)]
    return pd.Series(np.where(np.isnan(short), None, labels), index=width.index, dtype="str")


def build_analysis_data(
    responses: pd.DataFrame, images: pd.DataFrame, *, include_simulated: bool = False
) -> AnalysisData:
    """Select the analysable trials and join them to their items (see the module docstring)."""
    runs = score_runs(images)
    main = responses["kind"] == "main"
    excluded = responses["excluded"].to_numpy(bool)
    simulated = responses["simulated"].to_numpy(bool) & (not include_simulated)
    keep = main.to_numpy(bool) & ~excluded & ~simulated
    answered = responses["choice"].notna().to_numpy()
    pair = responses["image_right"].notna().to_numpy()
    chosen = responses[keep & answered]
    if pair[keep & answered].any() and not pair[keep & answered].all():
        raise AnalysisInputError("responses mix single-image and pair trials; analyse them apart")
    mode = "pair" if pair[keep & answered].any() else "single"
    table = _images_by_key(images, runs)
    trials, items = (
        _pair_trials(chosen, table, runs) if mode == "pair" else _single_trials(chosen, table, runs)
    )
    exclusions = Exclusions(
        n_responses=len(responses),
        n_practice=int((responses["kind"] == "practice").sum()),
        n_attention=int((responses["kind"] == "attention").sum()),
        n_excluded=int((main.to_numpy(bool) & excluded).sum()),
        n_excluded_participants=int(responses.loc[excluded, "participant"].nunique()),
        n_simulated=int((main.to_numpy(bool) & ~excluded & simulated).sum()),
        n_simulated_participants=int(responses.loc[simulated & ~excluded, "participant"].nunique()),
        n_unanswered=int((keep & ~answered).sum()),
        n_unmatched=len(chosen) - len(trials),
        n_used=len(trials),
    )
    has_confidence = bool(trials["confidence"].notna().any()) if len(trials) else False
    return AnalysisData(trials, items, runs, mode, has_confidence, exclusions)


def _images_by_key(images: pd.DataFrame, runs: list[str]) -> pd.DataFrame:
    table = pd.DataFrame(
        {
            "image": images["image"].astype("str"),
            "size": images["size"].astype("Int64"),
            "is_fake": (images["label"] == "fake").to_numpy(bool),
            "generator": images["generator"].fillna(UNKNOWN_GENERATOR).astype("str"),
            "category": images["category"].fillna(NO_CATEGORY).astype("str"),
            "native_size": native_size_bucket(images["width"], images["height"]),
            "url": images["url"],
            "path": images["path"],
        }
    )
    table.loc[~table["is_fake"], "generator"] = "real"
    for run in runs:
        table[SCORE_PREFIX + run] = images[SCORE_PREFIX + run].to_numpy(float)
    return table


def _common_trial_columns(rows: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "participant": rows["participant"].astype("str").to_numpy(),
            "confidence": rows["confidence"].astype("Float64").to_numpy(float, na_value=np.nan),
            "rt_ms": rows["rt_ms"].astype("Float64").to_numpy(float, na_value=np.nan),
        }
    )


def _single_trials(
    chosen: pd.DataFrame, table: pd.DataFrame, runs: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    keys = pd.DataFrame(
        {"image": chosen["image"].astype("str").to_numpy(), "size": chosen["size"].to_numpy()}
    )
    joined = keys.merge(table, on=["image", "size"], how="left", validate="many_to_one")
    matched = joined["is_fake"].notna().to_numpy()
    rows, joined = chosen[matched], joined[matched].reset_index(drop=True)
    trials = _common_trial_columns(rows)
    is_fake = joined["is_fake"].to_numpy(bool)
    says_fake = (rows["choice"] == "fake").to_numpy(bool)
    given = rows["correct"].to_numpy(dtype=object, na_value=None)
    derived = says_fake == is_fake
    trials["correct"] = np.where(pd.isna(given), derived, given).astype(bool)
    trials["says_fake"] = says_fake
    trials["vote"] = says_fake
    trials["is_fake"] = is_fake
    item_keys = joined["image"] + "@" + joined["size"].astype("str")
    trials["item"] = pd.factorize(item_keys)[0]
    for column in ("generator", "size", "category"):
        trials[column] = joined[column].astype("str").to_numpy()
    items = joined.iloc[_first_rows(trials["item"].to_numpy())].reset_index(drop=True)
    items = items.rename_axis("item")
    items["image_other"] = pd.Series(np.nan, index=items.index, dtype="str")
    items["unit"] = pd.factorize(items["image"])[0]
    trials["unit"] = items["unit"].to_numpy()[trials["item"].to_numpy()]
    for run in runs:
        scores = items[SCORE_PREFIX + run].to_numpy(float)
        items["clf_correct_" + run] = np.where(
            np.isnan(scores), np.nan, (scores > 0.5) == items["is_fake"].to_numpy(bool)
        )
    return trials, items


def _pair_trials(
    chosen: pd.DataFrame, table: pd.DataFrame, runs: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    size = chosen["size"].to_numpy()
    left = pd.DataFrame({"image": chosen["image"].astype("str").to_numpy(), "size": size})
    right = pd.DataFrame({"image": chosen["image_right"].astype("str").to_numpy(), "size": size})
    left = left.merge(table, on=["image", "size"], how="left", validate="many_to_one")
    right = right.merge(table, on=["image", "size"], how="left", validate="many_to_one")
    matched = (left["is_fake"].notna() & right["is_fake"].notna()).to_numpy()
    matched = matched & (left["is_fake"] != right["is_fake"]).to_numpy()
    rows = chosen[matched]
    left, right = left[matched].reset_index(drop=True), right[matched].reset_index(drop=True)
    left_is_fake = left["is_fake"].to_numpy(bool)
    fake = _pick(left_is_fake, left, right)
    real = _pick(left_is_fake, right, left)
    trials = _common_trial_columns(rows)
    picked_left = (rows["choice"] == "left").to_numpy(bool)
    given = rows["correct"].to_numpy(dtype=object, na_value=None)
    trials["correct"] = np.where(pd.isna(given), picked_left == left_is_fake, given).astype(bool)
    trials["says_fake"] = np.nan
    trials["vote"] = picked_left
    trials["is_fake"] = np.nan
    item_keys = left["image"] + "|" + right["image"] + "@" + left["size"].astype("str")
    trials["item"] = pd.factorize(item_keys)[0]
    for column in ("generator", "size", "category"):
        trials[column] = fake[column].astype("str").to_numpy()
    firsts = _first_rows(trials["item"].to_numpy())
    items = fake.iloc[firsts].reset_index(drop=True).rename_axis("item")
    items["image_other"] = real["image"].to_numpy()[firsts]
    items["is_fake"] = np.nan
    items["unit"] = np.arange(len(items))
    trials["unit"] = trials["item"].to_numpy()
    for run in runs:
        fake_score = items[SCORE_PREFIX + run].to_numpy(float)
        real_score = real[SCORE_PREFIX + run].to_numpy(float)[firsts]
        missing = np.isnan(fake_score) | np.isnan(real_score)
        items["clf_correct_" + run] = np.where(missing, np.nan, fake_score > real_score)
    return trials, items


def _first_rows(codes: np.ndarray) -> np.ndarray:
    """Row positions of the first occurrence of each code 0..k−1, in code order."""
    order = np.argsort(codes, kind="stable")
    return order[np.r_[True, np.diff(codes[order]) != 0]] if len(codes) else order


def _pick(mask: np.ndarray, where_true: pd.DataFrame, where_false: pd.DataFrame) -> pd.DataFrame:
    out = where_true.copy()
    out.loc[~mask, :] = where_false.loc[~mask, :].to_numpy()
    return out
