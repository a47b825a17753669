"""The per-group summary on simulated studies whose truth is known."""

import numpy as np
import pandas as pd
import pytest

from analysis.bootstrap import crossed_bootstrap_sums, percentile_interval, ratio
from analysis.dataset import build_analysis_data, native_size_bucket
from analysis.groups import group_index
from analysis.loaders import clean_images, clean_responses
from analysis.simulate import StudySpec, simulate_study
from analysis.summary import SUMMARY_COLUMNS, summarise

TRUTH = {"real": 0.7, "A": 0.6, "B": 0.8}


@pytest.fixture(scope="module")
def study():
    spec = StudySpec(
        n_participants=60,
        trials_per_participant=80,
        images_per_group=120,
        human_acc=TRUTH,
        clf_acc={"detector": 0.95},
        practice_trials=3,
        attention_trials=2,
        excluded_participants=3,
    )
    responses, images = simulate_study(spec, seed=11)
    data = build_analysis_data(
        clean_responses(responses), clean_images(images), include_simulated=True
    )
    return spec, data, summarise(data, n_boot=300, seed=1)


def _row(table: pd.DataFrame, dimension: str, group: str) -> pd.Series:
    rows = table[(table["dimension"] == dimension) & (table["group"] == group)]
    assert len(rows) == 1, (dimension, group)
    return rows.iloc[0]


def test_columns_are_the_documented_ones(study):
    _, _, summary = study
    assert tuple(summary.table.columns) == SUMMARY_COLUMNS
    required = [
        "dimension",
        "group",
        "n_images",
        "n_responses",
        "n_participants",
        "human_acc",
        "human_acc_low",
        "human_acc_high",
        "human_dprime",
        "human_c",
        "human_auc",
        "clf_run",
        "clf_acc",
        "clf_auc",
        "clf_ap",
        "mcnemar_p",
        "mcnemar_p_holm",
    ]
    assert set(required) <= set(summary.table.columns)
    dimensions = summary.table["dimension"].unique().tolist()
    assert dimensions == [
        "overall",
        "label",
        "generator",
        "size",
        "native_size",
        "category",
        "generator_size",
    ]


def test_known_accuracies_fall_inside_their_intervals(study):
    _, _, summary = study
    table = summary.table
    for generator, truth in TRUTH.items():
        row = _row(table, "generator", generator)
        assert row["human_acc_low"] <= row["human_acc"] <= row["human_acc_high"]
        assert row["human_acc_low"] <= truth <= row["human_acc_high"], generator
        assert row["clf_acc_low"] <= row["clf_acc"] <= row["clf_acc_high"]
        assert row["clf_acc_low"] <= 0.95 <= row["clf_acc_high"], generator
        assert row["acc_diff_low"] <= row["acc_diff"] <= row["acc_diff_high"]
    a, b = _row(table, "generator", "A"), _row(table, "generator", "B")
    assert a["human_acc_high"] < b["human_acc_low"]  # 60% vs 80% is told apart


def test_one_label_groups_leave_dprime_and_auc_empty(study):
    _, _, summary = study
    table = summary.table
    for dimension, group in [("generator", "A"), ("generator", "real"), ("label", "fake")]:
        row = _row(table, dimension, group)
        for column in ("human_dprime", "human_c", "human_auc", "clf_auc", "clf_ap"):
            assert np.isnan(row[column]), (dimension, group, column)
    overall = _row(table, "overall", "all")
    for column in ("human_dprime", "human_c", "human_auc", "clf_auc", "clf_ap"):
        assert np.isfinite(overall[column])
    assert overall["human_dprime_low"] <= overall["human_dprime"] <= overall["human_dprime_high"]


def test_overall_counts_and_exclusions(study):
    spec, data, summary = study
    ex = data.exclusions
    n = spec.n_participants * spec.trials_per_participant
    assert ex.n_responses == n
    assert ex.n_practice == spec.practice_trials * spec.n_participants
    assert ex.n_attention == spec.attention_trials * spec.n_participants
    assert ex.n_excluded_participants == spec.excluded_participants
    main_per_participant = (
        spec.trials_per_participant - spec.practice_trials - spec.attention_trials
    )
    assert ex.n_excluded == spec.excluded_participants * main_per_participant
    overall = _row(summary.table, "overall", "all")
    assert overall["n_responses"] == ex.n_used == len(data.trials)
    assert overall["n_participants"] == spec.n_participants - spec.excluded_participants
    assert overall["human_acc"] == pytest.approx(data.trials["correct"].mean())
    sizes = summary.table[summary.table["dimension"] == "size"]
    assert sizes["n_responses"].sum() == ex.n_used
    assert overall["human_acc_wilson_low"] < overall["human_acc"] < overall["human_acc_wilson_high"]


def test_dprime_and_paired_columns_agree_with_counts(study):
    _, data, summary = study
    from scipy.stats import norm

    trials = data.trials
    fake = trials["is_fake"].to_numpy(bool)
    correct = trials["correct"].to_numpy(bool)
    h = (np.sum(fake & correct) + 0.5) / (fake.sum() + 1)
    f = (np.sum(~fake & ~correct) + 0.5) / ((~fake).sum() + 1)
    overall = _row(summary.table, "overall", "all")
    assert overall["human_dprime"] == pytest.approx(norm.ppf(h) - norm.ppf(f))
    assert overall["human_c"] == pytest.approx(-(norm.ppf(h) + norm.ppf(f)) / 2)
    assert overall["n_paired"] + overall["n_ties"] == overall["clf_n_items"]
    assert 0 <= overall["mcnemar_p"] <= overall["mcnemar_p_holm"] <= 1
    # the classifier at 95% beats people at ~70% on the same images
    assert overall["mcnemar_clf_only"] > overall["mcnemar_human_only"]
    assert overall["mcnemar_p_holm"] < 0.001


def test_excluded_and_practice_trials_never_reach_the_table():
    spec = StudySpec(n_participants=10, trials_per_participant=20, images_per_group=30)
    responses, images = simulate_study(spec, seed=2)
    responses = clean_responses(responses)
    responses.loc[responses["participant"] == "p0", "excluded"] = True
    responses.loc[:4, "kind"] = "practice"
    data = build_analysis_data(responses, clean_images(images), include_simulated=True)
    assert "p0" not in set(data.trials["participant"])
    assert len(data.trials) == len(responses) - 20 - 5 + int(
        (responses.loc[:4, "participant"] == "p0").sum()
    )
    none = build_analysis_data(responses, clean_images(images), include_simulated=False)
    assert len(none.trials) == 0 and none.exclusions.n_simulated > 0


def test_pair_mode_reports_2afc_accuracy_and_dprime():
    spec = StudySpec(
        n_participants=30,
        trials_per_participant=40,
        images_per_group=60,
        human_acc={"real": 0.5, "A": 0.65, "B": 0.85},
        mode="pair",
        confidence_scale=None,
    )
    responses, images = simulate_study(spec, seed=5)
    data = build_analysis_data(
        clean_responses(responses), clean_images(images), include_simulated=True
    )
    assert data.mode == "pair"
    table = summarise(data, n_boot=200).table
    assert "label" not in set(table["dimension"])
    for generator, truth in (("A", 0.65), ("B", 0.85)):
        row = _row(table, "generator", generator)
        assert row["human_acc_low"] <= truth <= row["human_acc_high"]
        pc = (row["human_acc"] * row["n_responses"] + 0.5) / (row["n_responses"] + 1)
        from scipy.stats import norm

        assert row["human_dprime"] == pytest.approx(np.sqrt(2) * norm.ppf(pc))
        assert np.isnan(row["human_c"])
        assert 0.8 < row["clf_acc"] <= 1.0


def test_without_confidence_the_human_auc_is_empty():
    spec = StudySpec(n_participants=12, trials_per_participant=30, confidence_scale=None)
    responses, images = simulate_study(spec, seed=4)
    data = build_analysis_data(
        clean_responses(responses), clean_images(images), include_simulated=True
    )
    assert not data.has_confidence
    table = summarise(data, n_boot=50).table
    assert table["human_auc"].isna().all()
    assert np.isfinite(_row(table, "overall", "all")["human_dprime"])


def test_native_size_buckets():
    width = pd.Series([200, 300, 512, 513, 2000, None], dtype="Int64")
    height = pd.Series([900, 256, 800, 1024, 1500, 100], dtype="Int64")
    buckets = native_size_bucket(width, height).tolist()
    assert buckets[:5] == ["<=256", "<=256", "<=512", "<=1024", ">1024"]
    assert pd.isna(buckets[5])


def test_groups_cover_every_item_once_per_dimension(study):
    _, data, _ = study
    groups = group_index(data.items, data.mode)
    per_dimension = (
        pd.DataFrame(groups.membership.toarray())
        .T.groupby(groups.keys["dimension"].to_numpy())
        .sum()
    )
    assert (per_dimension.loc[["overall", "generator", "size", "label"]] == 1).all().all()


def _crossed_sample(rng, n_participants=30, per_participant=40, n_images=200):
    """Accuracy clip(truth + a_p + b_i) for generators A (images < n/2, 60%) and B (80%)."""
    truth = np.where(np.arange(n_images) < n_images // 2, 0.6, 0.8)
    a = rng.uniform(-0.1, 0.1, n_participants)
    b = rng.uniform(-0.1, 0.1, n_images)
    participant = np.repeat(np.arange(n_participants), per_participant)
    image = np.concatenate(
        [rng.choice(n_images, per_participant, replace=False) for _ in range(n_participants)]
    )
    correct = rng.random(len(image)) < truth[image] + a[participant] + b[image]
    return participant, image, correct


def test_crossed_bootstrap_intervals_cover_the_truth():
    # 200 simulated studies with known accuracies (A 60%, B 80%); the 95% intervals must cover
    # the truth in at least 90% of them. A small bootstrap keeps the runtime down.
    rng = np.random.default_rng(2024)
    n_images = 200
    membership = np.zeros((n_images, 2))
    membership[: n_images // 2, 0] = 1
    membership[n_images // 2 :, 1] = 1
    import scipy.sparse as sp

    membership = sp.csr_array(membership)
    covered = np.zeros(2)
    repetitions = 200
    for k in range(repetitions):
        participant, image, correct = _crossed_sample(rng)
        sums = crossed_bootstrap_sums(
            participant=participant,
            item=image,
            response_values=np.column_stack([np.ones(len(image)), correct]),
            item_unit=np.arange(n_images),
            membership=membership,
            n_boot=150,
            seed=k,
        )
        low, high = percentile_interval(ratio(sums.responses[..., 1], sums.responses[..., 0]))
        covered += (low <= [0.6, 0.8]) & (high >= [0.6, 0.8])
    coverage = covered / repetitions
    assert (coverage >= 0.90).all(), coverage


def test_crossed_bootstrap_is_wider_than_resampling_responses():
    rng = np.random.default_rng(7)
    participant, image, correct = _crossed_sample(rng, n_images=100)
    import scipy.sparse as sp

    sums = crossed_bootstrap_sums(
        participant=participant,
        item=image,
        response_values=np.column_stack([np.ones(len(image)), correct]),
        item_unit=np.arange(100),
        membership=sp.csr_array(np.ones((100, 1))),
        n_boot=400,
        seed=0,
    )
    low, high = percentile_interval(ratio(sums.responses[..., 1], sums.responses[..., 0]))
    p, n = correct.mean(), len(correct)
    binomial_width = 2 * 1.96 * np.sqrt(p * (1 - p) / n)
    assert (high - low)[0] > binomial_width
