"""The per-group comparison of people and classifiers that `summary.csv` holds.

Shape: long. One row per dimension × group × classifier run (`clf_run` names the run; the human
columns repeat on each run's row); a study without scores has one row per group with the `clf_*`
columns empty. Groups and dimensions are those of `analysis.groups`. Rows where a statistic is
undefined (e.g. d' on a group holding one label only) leave it empty.

Columns, in order:
- `dimension`, `group`, `mode` (single|pair); `n_images` (distinct images; pairs in pair mode),
  `n_items` (image × display size shown), `n_responses`, `n_participants`.
- `human_acc` (mean correctness over responses) with `human_acc_low`/`human_acc_high` (95% crossed
  bootstrap over participants and images, `analysis.bootstrap`) and `human_acc_wilson_low`/`_high`
  (Wilson interval treating responses as independent — a cross-check, too narrow when people or
  images differ); `human_acc_real`, `human_acc_fake`; `human_hit_rate` (fake called fake) and
  `human_fa_rate` (real called fake), both uncorrected.
- `human_dprime` and `human_c` from pooled counts with the log-linear correction (`analysis.sdt`),
  `human_dprime_low`/`_high` (crossed bootstrap), `human_dprime_participant_mean` (mean of each
  participant's own corrected d′ over participants who saw both labels in the group). Pair mode:
  d′ = √2·z(pc), no c.
- `human_auc`: area under the pooled rating-scale ROC from confidence (empty without confidence);
  `human_fleiss_kappa` (Fleiss' kappa over items with ≥ 2 responses); `human_rt_mean_ms`,
  `human_rt_median_ms`.
- `clf_run`, `clf_n_items` (items of the group with a score; the classifier is scored on exactly the
  items people saw), `clf_acc` (at 0.5) with `clf_acc_low`/`_high` (bootstrap over images, the same
  replicates as the humans'), `clf_acc_real`, `clf_acc_fake`, `clf_auc`, `clf_ap`, `clf_ece`.
- The operating point matched to people: `clf_threshold_at_human_fa` (threshold giving the
  classifier the humans' false-alarm rate on the group's real images, or on all real images when
  the group has none), `clf_fa_at_human_fa`, `clf_hit_at_human_fa`, `clf_acc_at_human_fa`.
- `acc_diff` = human_acc − clf_acc with `acc_diff_low`/`_high` (paired bootstrap).
- Paired test on the same items, human majority vote against the classifier: `n_paired` (items with
  a score and a strict majority), `n_ties` (items left out for a tied vote), `human_majority_acc`,
  `clf_paired_acc`, `mcnemar_human_only` (majority right, classifier wrong), `mcnemar_clf_only`,
  `mcnemar_p` (exact), `mcnemar_p_holm` (Holm over all groups of the run), `error_consistency`
  (Geirhos et al. 2020 kappa of the two error patterns).
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from analysis.agreement import (
    error_consistency,
    fleiss_kappa,
    holm,
    mcnemar_from_counts,
    wilson_interval,
)
from analysis.bootstrap import crossed_bootstrap_sums, percentile_interval, ratio
from analysis.classifier import (
    classifier_metrics,
    operating_point,
    threshold_for_false_alarm_rate,
)
from analysis.dataset import AnalysisData
from analysis.groups import GroupIndex, group_index, item_groups
from analysis.loaders import SCORE_PREFIX
from analysis.sdt import dprime_2afc, dprime_c, loglinear_rate, rating_roc, rating_scores

SUMMARY_COLUMNS = (
    "dimension",
    "group",
    "mode",
    "n_images",
    "n_items",
    "n_responses",
    "n_participants",
    "human_acc",
    "human_acc_low",
    "human_acc_high",
    "human_acc_wilson_low",
    "human_acc_wilson_high",
    "human_acc_real",
    "human_acc_fake",
    "human_hit_rate",
    "human_fa_rate",
    "human_dprime",
    "human_dprime_low",
    "human_dprime_high",
    "human_c",
    "human_dprime_participant_mean",
    "human_auc",
    "human_fleiss_kappa",
    "human_rt_mean_ms",
    "human_rt_median_ms",
    "clf_run",
    "clf_n_items",
    "clf_acc",
    "clf_acc_low",
    "clf_acc_high",
    "clf_acc_real",
    "clf_acc_fake",
    "clf_auc",
    "clf_ap",
    "clf_ece",
    "clf_threshold_at_human_fa",
    "clf_fa_at_human_fa",
    "clf_hit_at_human_fa",
    "clf_acc_at_human_fa",
    "acc_diff",
    "acc_diff_low",
    "acc_diff_high",
    "n_paired",
    "n_ties",
    "human_majority_acc",
    "clf_paired_acc",
    "mcnemar_human_only",
    "mcnemar_clf_only",
    "mcnemar_p",
    "mcnemar_p_holm",
    "error_consistency",
)


@dataclass(frozen=True)
class Summary:
    """`table`: the summary.csv rows; `items`: per item the human counts (n_responses, n_correct,
    human_acc) next to the item's facts and scores, for figures and the gallery."""

    table: pd.DataFrame
    items: pd.DataFrame
    n_boot: int


def summarise(
    data: AnalysisData, *, n_boot: int = 1000, seed: int = 0, progress: bool = False
) -> Summary:
    """Every statistic of `summary.csv` for every group (see the module docstring)."""
    items = _item_counts(data)
    groups = group_index(data.items, data.mode)
    human = _human_columns(data, items, groups)
    boot = _bootstrap_columns(data, items, groups, n_boot=n_boot, seed=seed, progress=progress)
    rows = []
    for run in data.runs or [None]:
        frame = pd.concat([groups.keys, human], axis=1)
        frame["mode"] = data.mode
        frame["clf_run"] = run
        if run is not None:
            frame = pd.concat([frame, _classifier_columns(data, items, groups, run, human)], axis=1)
            frame["acc_diff"] = frame["human_acc"] - frame["clf_acc"]
            for column in ("clf_acc_low", "clf_acc_high", "acc_diff_low", "acc_diff_high"):
                frame[column] = boot[f"{column}:{run}"]
            frame["mcnemar_p_holm"] = holm(frame["mcnemar_p"].to_numpy(float))
        for column in ("human_acc_low", "human_acc_high", "human_dprime_low", "human_dprime_high"):
            frame[column] = boot[column]
        rows.append(frame)
    table = pd.concat(rows, ignore_index=True).reindex(columns=list(SUMMARY_COLUMNS))
    return Summary(table, items, n_boot)


def _item_counts(data: AnalysisData) -> pd.DataFrame:
    trials, items = data.trials, data.items.copy()
    n = len(items)
    item = trials["item"].to_numpy()
    items["n_responses"] = np.bincount(item, minlength=n)
    items["n_correct"] = np.bincount(item, trials["correct"].to_numpy(float), n)
    items["n_votes"] = np.bincount(item, _votes(data), n)
    items["human_acc"] = items["n_correct"] / items["n_responses"]
    return items


def _votes(data: AnalysisData) -> np.ndarray:
    """1 for "fake" (single mode) or "left" (pair mode): the category Fleiss' kappa counts."""
    return data.trials["vote"].to_numpy(float)


def _human_columns(data: AnalysisData, items: pd.DataFrame, groups: GroupIndex) -> pd.DataFrame:
    trials = data.trials
    M = groups.membership
    n_resp = M.T @ items["n_responses"].to_numpy(float)
    n_correct = M.T @ items["n_correct"].to_numpy(float)
    out = pd.DataFrame(index=groups.keys.index)
    units = sp.csr_array(
        (np.ones(len(items)), (items["unit"].to_numpy(), np.arange(len(items)))),
    )
    out["n_images"] = ((units @ M) > 0).sum(axis=0)
    out["n_items"] = (M > 0).sum(axis=0)
    out["n_responses"] = n_resp.astype(int)
    participant = pd.factorize(trials["participant"])[0]
    seen = sp.csr_array(
        (np.ones(len(trials)), (participant, trials["item"].to_numpy())),
        shape=(participant.max() + 1 if len(trials) else 0, len(items)),
    )
    out["n_participants"] = ((seen @ M) > 0).sum(axis=0)
    out["human_acc"] = ratio(n_correct, n_resp)
    wilson = [wilson_interval(c, n) for c, n in zip(n_correct, n_resp, strict=True)]
    out["human_acc_wilson_low"] = [w.low for w in wilson]
    out["human_acc_wilson_high"] = [w.high for w in wilson]
    if data.mode == "single":
        fake = items["is_fake"].to_numpy(bool)
        signals = M.T @ (items["n_responses"].to_numpy(float) * fake)
        hits = M.T @ (items["n_correct"].to_numpy(float) * fake)
        noise = n_resp - signals
        correct_rejections = n_correct - hits
        false_alarms = noise - correct_rejections
        out["human_acc_real"] = ratio(correct_rejections, noise)
        out["human_acc_fake"] = ratio(hits, signals)
        out["human_hit_rate"] = out["human_acc_fake"]
        out["human_fa_rate"] = ratio(false_alarms, noise)
        both = (signals > 0) & (noise > 0)
        dprime, c = dprime_c(loglinear_rate(hits, signals), loglinear_rate(false_alarms, noise))
        out["human_dprime"] = np.where(both, dprime, np.nan)
        out["human_c"] = np.where(both, c, np.nan)
    else:
        out["human_dprime"] = dprime_2afc(n_correct, n_resp)
    by_dimension = _response_groups(data, groups)
    out["human_dprime_participant_mean"] = _participant_dprime(data, by_dimension, groups)
    if data.has_confidence and data.mode == "single":
        out["human_auc"] = _rating_auc(data, by_dimension, groups)
    out["human_fleiss_kappa"] = _fleiss_by_group(items, M)
    rt = pd.DataFrame({"rt": trials["rt_ms"].to_numpy(float)})
    mean, median = np.full(len(out), np.nan), np.full(len(out), np.nan)
    for codes in by_dimension.values():
        stats = rt.groupby(codes).rt.agg(["mean", "median"])
        stats = stats[stats.index >= 0]
        mean[stats.index] = stats["mean"].to_numpy()
        median[stats.index] = stats["median"].to_numpy()
    out["human_rt_mean_ms"] = mean
    out["human_rt_median_ms"] = median
    return out


def _response_groups(data: AnalysisData, groups: GroupIndex) -> dict[str, np.ndarray]:
    """Per dimension, each response's group as a row number of `groups.keys` (−1 when none)."""
    lookup = {(d, g): i for i, (d, g) in enumerate(groups.keys.itertuples(index=False, name=None))}
    item = data.trials["item"].to_numpy()
    out = {}
    for dimension, labels in item_groups(data.items, data.mode).items():
        codes = np.array([lookup.get((dimension, g), -1) for g in labels.to_numpy(object)], int)
        out[dimension] = codes[item] if len(codes) else np.zeros(0, int)
    return out


def _participant_dprime(
    data: AnalysisData, by_dimension: dict[str, np.ndarray], groups: GroupIndex
) -> np.ndarray:
    result = np.full(len(groups.keys), np.nan)
    if data.mode != "single" or len(data.trials) == 0:
        return result
    trials = data.trials
    fake = trials["is_fake"].to_numpy(bool)
    correct = trials["correct"].to_numpy(bool)
    counts = pd.DataFrame(
        {
            "participant": pd.factorize(trials["participant"])[0],
            "signals": fake.astype(float),
            "hits": (fake & correct).astype(float),
            "noise": (~fake).astype(float),
            "false_alarms": (~fake & ~correct).astype(float),
        }
    )
    for codes in by_dimension.values():
        sums = counts.groupby([codes, counts["participant"]]).sum()
        sums = sums[(sums["signals"] > 0) & (sums["noise"] > 0)]
        dprime, _ = dprime_c(
            loglinear_rate(sums["hits"], sums["signals"]),
            loglinear_rate(sums["false_alarms"], sums["noise"]),
        )
        means = pd.Series(dprime, index=sums.index.get_level_values(0)).groupby(level=0).mean()
        means = means[means.index >= 0]
        result[means.index.to_numpy()] = means.to_numpy()
    return result


def _rating_auc(
    data: AnalysisData, by_dimension: dict[str, np.ndarray], groups: GroupIndex
) -> np.ndarray:
    result = np.full(len(groups.keys), np.nan)
    trials = data.trials
    score = rating_scores(trials["says_fake"].to_numpy(bool), trials["confidence"].to_numpy(float))
    rated = ~np.isnan(score)
    frame = pd.DataFrame({"fake": trials["is_fake"].to_numpy(bool)[rated], "score": score[rated]})
    for codes in by_dimension.values():
        tally = frame.groupby([codes[rated], frame["fake"], frame["score"]]).size()
        for group, part in tally.groupby(level=0):
            if group < 0:
                continue
            roc = rating_roc(
                part.index.get_level_values(1).to_numpy(bool),
                part.index.get_level_values(2).to_numpy(float),
                part.to_numpy(float),
            )
            result[group] = roc.auc
    return result


def _fleiss_by_group(items: pd.DataFrame, M: sp.csr_array) -> np.ndarray:
    votes = items["n_votes"].to_numpy(float)
    table = np.column_stack([votes, items["n_responses"].to_numpy(float) - votes])
    columns = M.tocsc()
    result = np.full(M.shape[1], np.nan)
    for g in range(M.shape[1]):
        members = columns.indices[columns.indptr[g] : columns.indptr[g + 1]]
        result[g] = fleiss_kappa(table[members])
    return result


def _classifier_columns(
    data: AnalysisData, items: pd.DataFrame, groups: GroupIndex, run: str, human: pd.DataFrame
) -> pd.DataFrame:
    columns = groups.membership.tocsc()
    correct = items["clf_correct_" + run].to_numpy(float)
    scores = items[SCORE_PREFIX + run].to_numpy(float)
    single = data.mode == "single"
    fake = items["is_fake"].to_numpy(bool) if single else np.zeros(len(items), bool)
    overall_fa = float(human["human_fa_rate"].iloc[0]) if single else np.nan
    overall_threshold = threshold_for_false_alarm_rate(scores[~fake], overall_fa)
    n_resp = items["n_responses"].to_numpy()
    majority_right = 2 * items["n_correct"].to_numpy() > n_resp
    tie = 2 * items["n_correct"].to_numpy() == n_resp
    rows = []
    for g in range(len(groups.keys)):
        members = columns.indices[columns.indptr[g] : columns.indptr[g + 1]]
        scored = members[~np.isnan(correct[members])]
        row: dict[str, float] = {"clf_n_items": len(scored)}
        if single:
            metrics = classifier_metrics(fake[members], scores[members])
            row |= {
                "clf_acc": metrics.acc,
                "clf_acc_real": metrics.acc_real,
                "clf_acc_fake": metrics.acc_fake,
                "clf_auc": metrics.auc,
                "clf_ap": metrics.ap,
                "clf_ece": metrics.ece,
            }
            real = members[~fake[members]]
            threshold = (
                threshold_for_false_alarm_rate(scores[real], human["human_fa_rate"].iloc[g])
                if len(real)
                else overall_threshold
            )
            point = operating_point(fake[members], scores[members], threshold)
            row |= {
                "clf_threshold_at_human_fa": point.threshold,
                "clf_fa_at_human_fa": point.false_alarm_rate,
                "clf_hit_at_human_fa": point.hit_rate,
                "clf_acc_at_human_fa": point.acc,
            }
        else:
            row["clf_acc"] = float(correct[scored].mean()) if len(scored) else np.nan
        paired = scored[~tie[scored]]
        human_right = majority_right[paired]
        clf_right = correct[paired].astype(bool)
        test = mcnemar_from_counts(
            int(np.sum(human_right & ~clf_right)), int(np.sum(~human_right & clf_right))
        )
        row |= {
            "n_paired": len(paired),
            "n_ties": int(tie[scored].sum()),
            "human_majority_acc": float(human_right.mean()) if len(paired) else np.nan,
            "clf_paired_acc": float(clf_right.mean()) if len(paired) else np.nan,
            "mcnemar_human_only": test.a_only,
            "mcnemar_clf_only": test.b_only,
            "mcnemar_p": test.pvalue if len(paired) else np.nan,
            "error_consistency": error_consistency(human_right, clf_right).estimate,
        }
        rows.append(row)
    return pd.DataFrame(rows, index=groups.keys.index)


def _bootstrap_columns(
    data: AnalysisData,
    items: pd.DataFrame,
    groups: GroupIndex,
    *,
    n_boot: int,
    seed: int,
    progress: bool,
) -> dict[str, np.ndarray]:
    n_groups = len(groups.keys)
    out: dict[str, np.ndarray] = {}
    if n_boot <= 0 or len(data.trials) == 0:
        nan = np.full(n_groups, np.nan)
        for name in ("human_acc", "human_dprime"):
            out[f"{name}_low"], out[f"{name}_high"] = nan, nan
        for run in data.runs:
            for name in ("clf_acc_low", "clf_acc_high", "acc_diff_low", "acc_diff_high"):
                out[f"{name}:{run}"] = nan
        return out
    single = data.mode == "single"
    M = groups.membership
    fake = items["is_fake"].to_numpy(bool) if single else np.zeros(len(items), bool)
    membership = sp.hstack([M, sp.diags_array(fake.astype(float)) @ M]).tocsr()
    item_values = []
    for run in data.runs:
        correct = items["clf_correct_" + run].to_numpy(float)
        valid = ~np.isnan(correct)
        item_values += [valid.astype(float), np.where(valid, correct, 0.0)]
    trials = data.trials
    sums = crossed_bootstrap_sums(
        participant=pd.factorize(trials["participant"])[0],
        item=trials["item"].to_numpy(),
        response_values=np.column_stack([np.ones(len(trials)), trials["correct"].to_numpy(float)]),
        item_unit=items["unit"].to_numpy(),
        membership=membership,
        item_values=np.column_stack(item_values) if item_values else None,
        n_boot=n_boot,
        seed=seed,
        progress=progress,
    )
    total, correct = sums.responses[:, :n_groups, 0], sums.responses[:, :n_groups, 1]
    human_acc = ratio(correct, total)
    out["human_acc_low"], out["human_acc_high"] = percentile_interval(human_acc)
    if single:
        signals, hits = sums.responses[:, n_groups:, 0], sums.responses[:, n_groups:, 1]
        noise = total - signals
        false_alarms = noise - (correct - hits)
        dprime, _ = dprime_c(loglinear_rate(hits, signals), loglinear_rate(false_alarms, noise))
        dprime = np.where((signals > 0) & (noise > 0), dprime, np.nan)
    else:
        dprime = dprime_2afc(correct, total)
    low, high = percentile_interval(dprime)
    undefined = ~np.isfinite(_point_dprime(items, M, single))
    out["human_dprime_low"] = np.where(undefined, np.nan, low)
    out["human_dprime_high"] = np.where(undefined, np.nan, high)
    for r, run in enumerate(data.runs):
        clf_total = sums.items[:, :n_groups, 2 * r]
        clf_acc = ratio(sums.items[:, :n_groups, 2 * r + 1], clf_total)
        out[f"clf_acc_low:{run}"], out[f"clf_acc_high:{run}"] = percentile_interval(clf_acc)
        diff = human_acc - clf_acc
        out[f"acc_diff_low:{run}"], out[f"acc_diff_high:{run}"] = percentile_interval(diff)
    return out


def _point_dprime(items: pd.DataFrame, M: sp.csr_array, single: bool) -> np.ndarray:
    n = M.T @ items["n_responses"].to_numpy(float)
    if not single:
        return dprime_2afc(M.T @ items["n_correct"].to_numpy(float), n)
    signals = M.T @ (items["n_responses"].to_numpy(float) * items["is_fake"].to_numpy(bool))
    return np.where((signals > 0) & (n - signals > 0), 0.0, np.nan)
