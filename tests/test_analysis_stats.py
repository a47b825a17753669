"""The statistics checked against published values and independent implementations."""

import numpy as np
import pytest
from scipy.stats import mannwhitneyu
from sklearn.metrics import average_precision_score, cohen_kappa_score, roc_auc_score

from analysis.agreement import (
    error_consistency,
    fleiss_kappa,
    holm,
    mcnemar_exact,
    mcnemar_from_counts,
    wilson_interval,
)
from analysis.classifier import (
    classifier_metrics,
    expected_calibration_error,
    operating_point,
    threshold_for_false_alarm_rate,
)
from analysis.sdt import (
    dprime_2afc,
    rating_roc,
    rating_scores,
    sdt_from_counts,
    sdt_from_rates,
)


def test_dprime_and_c_from_rates_match_stanislaw_todorov():
    # Stanislaw & Todorov (1999), Behav. Res. Methods 31(1): d' = z(H) - z(F), c = -(z(H)+z(F))/2;
    # H = .90, F = .05 gives d' = 1.2816 + 1.6449 = 2.9264 and c = 0.1817.
    result = sdt_from_rates(0.90, 0.05)
    assert result.dprime == pytest.approx(2.9264, abs=1e-4)
    assert result.c == pytest.approx(0.1817, abs=1e-4)


def test_loglinear_correction_on_perfect_hits():
    # Hautus (1995), Behav. Res. Methods 27(1): add 0.5 to every cell, H = (20+0.5)/(20+1) =
    # .97619, F = (5+0.5)/(20+1) = .26190; then d' = 1.9808 + 0.6375 = 2.6182, c = -0.6716.
    result = sdt_from_counts(hits=20, signals=20, false_alarms=5, noise=20)
    assert result.hit_rate == pytest.approx(20.5 / 21)
    assert result.false_alarm_rate == pytest.approx(5.5 / 21)
    assert result.dprime == pytest.approx(2.6182, abs=1e-4)
    assert result.c == pytest.approx(-0.6716, abs=1e-4)


def test_dprime_is_undefined_with_one_class():
    assert np.isnan(sdt_from_counts(hits=5, signals=10, false_alarms=0, noise=0).dprime)


def test_dprime_2afc():
    # Macmillan & Creelman (2005), Detection Theory, ch. 7: 2AFC d' = sqrt(2)·z(pc); pc = .76
    # gives d' = 1.00 (z(.76) = 0.7063). With 760/1000 correct the log-linear pc is 760.5/1001.
    assert dprime_2afc(760, 1000) == pytest.approx(np.sqrt(2) * 0.7063, abs=3e-3)
    assert float(dprime_2afc(760, 1000)) == pytest.approx(1.00, abs=0.01)


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        # Newcombe (1998), Stat. Med. 17:857-872, Table I, method 3 (Wilson score, no CC).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_newcombe(successes, n, low, high):
    interval = wilson_interval(successes, n)
    assert interval.estimate == pytest.approx(successes / n)
    assert interval.low == pytest.approx(low, abs=1e-4)
    assert interval.high == pytest.approx(high, abs=1e-4)


# Fleiss (1971), Psychol. Bull. 76(5):378-382, Table 1: 30 patients, 6 psychiatrists each, 5
# diagnoses (depression, personality disorder, schizophrenia, neurosis, other), as counts per
# patient (the `diagnoses` data of R's irr package); published kappa = 0.430.
FLEISS_1971 = np.array(
    [
        [0, 0, 0, 6, 0], [0, 3, 0, 0, 3], [0, 1, 4, 0, 1], [0, 0, 0, 0, 6], [0, 3, 0, 3, 0],
        [2, 0, 4, 0, 0], [0, 0, 4, 0, 2], [2, 0, 3, 1, 0], [2, 0, 0, 4, 0], [0, 0, 0, 0, 6],
        [1, 0, 0, 5, 0], [1, 1, 0, 4, 0], [0, 3, 3, 0, 0], [1, 0, 0, 5, 0], [0, 2, 0, 3, 1],
        [0, 0, 5, 0, 1], [3, 0, 0, 1, 2], [5, 1, 0, 0, 0], [0, 2, 0, 4, 0], [1, 0, 2, 0, 3],
        [0, 0, 0, 0, 6], [0, 1, 0, 5, 0], [0, 2, 0, 1, 3], [2, 0, 0, 4, 0], [1, 0, 0, 4, 1],
        [0, 5, 0, 1, 0], [4, 0, 0, 0, 2], [0, 2, 0, 4, 0], [1, 0, 5, 0, 0], [0, 0, 0, 0, 6],
    ]
)  # fmt: skip


def test_fleiss_kappa_matches_fleiss_1971():
    assert fleiss_kappa(FLEISS_1971) == pytest.approx(0.430, abs=5e-4)


def test_fleiss_kappa_varying_raters_reduces_to_fleiss():
    # The varying-raters form (Fleiss, Levin & Paik 2003, §18.1) must give Fleiss' value when
    # every subject has the same raters; an extra subject rated once is ignored (needs two).
    extra = np.vstack([FLEISS_1971, [[0, 0, 0, 0, 1]]])
    assert fleiss_kappa(extra) == pytest.approx(0.430, abs=5e-4)
    # a second table mixing 6 and 2 raters: agreement is perfect, so kappa is 1
    perfect = np.array([[6, 0], [0, 6], [2, 0], [0, 2]])
    assert fleiss_kappa(perfect) == pytest.approx(1.0)


def test_exact_mcnemar_matches_fagerland():
    # Fagerland, Lydersen & Laake (2013), BMC Med. Res. Methodol. 13:91, Table 1: airway
    # hyper-responsiveness before/after stem cell transplantation (Bentur et al. 2009), discordant
    # pairs 1 and 7; exact conditional McNemar p = 0.070 (= 2·P(X <= 1 | n=8, 1/2) = 18/256).
    assert mcnemar_from_counts(1, 7).pvalue == pytest.approx(0.0703, abs=1e-4)
    a = np.array([True] * 1 + [True] * 1 + [False] * 7 + [False] * 12)
    b = np.array([True] * 1 + [False] * 1 + [True] * 7 + [False] * 12)
    result = mcnemar_exact(a, b)
    assert (result.a_only, result.b_only) == (1, 7)
    assert result.pvalue == pytest.approx(18 / 256)


def test_holm_matches_the_textbook_example():
    # Holm (1979): sorted p-values times (m, m-1, ...), made monotone: (.01, .04, .03) ->
    # (.03, .06, .06); NaN is not part of the family.
    adjusted = holm(np.array([0.01, 0.04, np.nan, 0.03]))
    assert adjusted[[0, 1, 3]] == pytest.approx([0.03, 0.06, 0.06])
    assert np.isnan(adjusted[2])


def test_error_consistency_is_cohens_kappa_of_correctness():
    # Geirhos et al. (2020), NeurIPS: kappa = (c_obs - c_exp)/(1 - c_exp) with
    # c_exp = p1·p2 + (1-p1)(1-p2); this is Cohen's kappa of the two right/wrong sequences.
    # By hand: a = 11100, b = 11001 -> c_obs = .6, c_exp = .52, kappa = .08/.48 = 1/6.
    a = np.array([1, 1, 1, 0, 0], bool)
    b = np.array([1, 1, 0, 0, 1], bool)
    result = error_consistency(a, b)
    assert result.observed == pytest.approx(0.6)
    assert result.expected == pytest.approx(0.52)
    assert result.estimate == pytest.approx(1 / 6)
    rng = np.random.default_rng(1)
    a, b = rng.random(500) < 0.7, rng.random(500) < 0.9
    assert error_consistency(a, b).estimate == pytest.approx(cohen_kappa_score(a, b))


def test_classifier_auc_and_ap_equal_scikit_learn():
    rng = np.random.default_rng(0)
    is_fake = rng.random(400) < 0.4
    scores = np.clip(rng.normal(0.35 + 0.3 * is_fake, 0.2), 0, 1)
    metrics = classifier_metrics(is_fake, scores)
    assert metrics.auc == roc_auc_score(is_fake, scores)
    assert metrics.ap == average_precision_score(is_fake, scores)
    assert metrics.acc == pytest.approx(np.mean((scores > 0.5) == is_fake))
    assert metrics.acc_real == pytest.approx(np.mean(scores[~is_fake] <= 0.5))


def test_classifier_auc_is_empty_with_one_label():
    metrics = classifier_metrics(np.ones(5, bool), np.linspace(0.1, 0.9, 5))
    assert np.isnan(metrics.auc) and np.isnan(metrics.ap)
    assert metrics.acc == pytest.approx(0.4)  # 0.7 and 0.9 are above 0.5


def test_rating_roc_auc_equals_scikit_learn_and_mann_whitney():
    rng = np.random.default_rng(3)
    is_fake = rng.random(300) < 0.5
    says_fake = np.where(rng.random(300) < 0.7, is_fake, ~is_fake)
    confidence = rng.integers(1, 5, 300)
    score = rating_scores(says_fake, confidence)
    roc = rating_roc(is_fake, score)
    assert roc.auc == pytest.approx(roc_auc_score(is_fake, score))
    u = mannwhitneyu(score[is_fake], score[~is_fake]).statistic
    assert roc.auc == pytest.approx(u / (is_fake.sum() * (~is_fake).sum()))
    # the 2k-point scale gives 2k - 1 criteria, cumulative and ending below (1, 1)
    assert len(roc.hit_rates) == len(np.unique(score)) - 1
    assert np.all(np.diff(roc.hit_rates) >= 0) and np.all(np.diff(roc.false_alarm_rates) >= 0)


def test_rating_roc_with_weights_equals_unaggregated():
    is_fake = np.array([1, 1, 0, 0, 1, 0], bool)
    score = np.array([2, -1, -2, 1, 2, -2], float)
    weights = np.array([3, 1, 2, 1, 1, 4], float)
    expanded = rating_roc(
        np.repeat(is_fake, weights.astype(int)), np.repeat(score, weights.astype(int))
    )
    assert rating_roc(is_fake, score, weights).auc == pytest.approx(expanded.auc)


def test_expected_calibration_error_by_hand():
    # Guo et al. (2017), ICML: ECE = sum_b n_b/n |acc_b - conf_b| over confidence bins.
    # Four predictions of p(fake) = .8 (bin of conf .8), three of them fake: |.75 - .8| = .05;
    # two of p = .1 (conf .9), both real: |1 - .9| = .1. ECE = 4/6·.05 + 2/6·.1 = .0667.
    is_fake = np.array([1, 1, 1, 0, 0, 0], bool)
    p_fake = np.array([0.8, 0.8, 0.8, 0.8, 0.1, 0.1])
    assert expected_calibration_error(is_fake, p_fake) == pytest.approx(4 / 6 * 0.05 + 2 / 6 * 0.1)


def test_threshold_matches_a_false_alarm_rate():
    real = np.linspace(0.0, 0.99, 100)
    threshold = threshold_for_false_alarm_rate(real, 0.2)
    assert np.mean(real > threshold) == pytest.approx(0.2)
    is_fake = np.r_[np.zeros(100, bool), np.ones(50, bool)]
    scores = np.r_[real, np.full(50, 0.9)]
    point = operating_point(is_fake, scores, threshold)
    assert point.false_alarm_rate == pytest.approx(0.2)
    assert point.hit_rate == pytest.approx(1.0)
    assert np.isnan(threshold_for_false_alarm_rate(real, np.nan))
