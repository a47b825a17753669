"""Proportions, paired tests and agreement: Wilson intervals, exact McNemar, Holm, Fleiss' kappa and
the error consistency of two observers (Geirhos et al. 2020)."""

from dataclasses import dataclass

import numpy as np
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.inter_rater import fleiss_kappa as _fleiss_kappa_equal
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval."""

    estimate: float
    low: float
    high: float

    def summary(self) -> str:
        return f"{self.estimate:.4f} [{self.low:.4f}, {self.high:.4f}]"


@dataclass(frozen=True)
class McNemarResult:
    """Exact McNemar test on the discordant pairs: `a_only` right only for A, `b_only` only
    for B."""

    a_only: int
    b_only: int
    pvalue: float

    def summary(self) -> str:
        return f"McNemar exact: {self.a_only} vs {self.b_only} discordant, p={self.pvalue:.4g}"


@dataclass(frozen=True)
class ErrorConsistency:
    """Cohen's kappa of two observers' trial-by-trial correctness beyond what their accuracies
    alone would give: kappa = (c_obs − c_exp) / (1 − c_exp) (Geirhos et al. 2020, NeurIPS)."""

    estimate: float
    observed: float
    expected: float
    n: int

    def summary(self) -> str:
        return (
            f"error consistency kappa={self.estimate:.4f} "
            f"(observed {self.observed:.4f}, expected {self.expected:.4f}, n={self.n})"
        )


def wilson_interval(successes: float, n: float, alpha: float = 0.05) -> Interval:
    """Wilson score interval (no continuity correction) around successes / n."""
    if n <= 0:
        return Interval(np.nan, np.nan, np.nan)
    low, high = proportion_confint(successes, n, alpha=alpha, method="wilson")
    return Interval(successes / n, float(low), float(high))


def mcnemar_exact(a_correct: np.ndarray, b_correct: np.ndarray) -> McNemarResult:
    """Exact (binomial) McNemar test of two observers' correctness on the same items."""
    a_correct = np.asarray(a_correct, bool)
    b_correct = np.asarray(b_correct, bool)
    a_only = int(np.sum(a_correct & ~b_correct))
    b_only = int(np.sum(~a_correct & b_correct))
    return mcnemar_from_counts(a_only, b_only)


def mcnemar_from_counts(a_only: int, b_only: int) -> McNemarResult:
    """Exact McNemar test from the two discordant counts (p = 1 when there are none)."""
    if a_only + b_only == 0:
        return McNemarResult(a_only, b_only, 1.0)
    table = np.array([[0, a_only], [b_only, 0]])
    return McNemarResult(a_only, b_only, float(mcnemar(table, exact=True).pvalue))


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values; NaN entries stay NaN and are not counted in the family."""
    pvalues = np.asarray(pvalues, float)
    adjusted = np.full_like(pvalues, np.nan)
    present = ~np.isnan(pvalues)
    if present.any():
        adjusted[present] = multipletests(pvalues[present], method="holm")[1]
    return adjusted


def fleiss_kappa(counts: np.ndarray) -> float:
    """Fleiss' (1971) kappa of a subjects × categories table of rating counts.

    With the same number of raters for every subject this is statsmodels' `fleiss_kappa`. Volunteers
    rate different numbers of times per image, so otherwise the usual generalisation is used: each
    subject's agreement is averaged over its own n_i(n_i − 1) rater pairs and the category shares
    are pooled over all ratings (Fleiss, Levin & Paik 2003, §18.1); it equals Fleiss' formula when
    every n_i is the same. Subjects with fewer than two ratings are left out.
    """
    counts = np.asarray(counts, float)
    n_i = counts.sum(axis=1)
    counts, n_i = counts[n_i >= 2], n_i[n_i >= 2]
    if len(counts) == 0:
        return np.nan
    if np.all(n_i == n_i[0]):
        return float(_fleiss_kappa_equal(counts))
    shares = counts.sum(axis=0) / n_i.sum()
    expected = float(np.sum(shares**2))
    observed = float(np.mean((np.sum(counts**2, axis=1) - n_i) / (n_i * (n_i - 1))))
    if expected >= 1.0:
        return np.nan
    return (observed - expected) / (1.0 - expected)


def error_consistency(a_correct: np.ndarray, b_correct: np.ndarray) -> ErrorConsistency:
    """Geirhos et al. (2020) error consistency of two observers on the same items."""
    a_correct = np.asarray(a_correct, bool)
    b_correct = np.asarray(b_correct, bool)
    n = len(a_correct)
    if n == 0:
        return ErrorConsistency(np.nan, np.nan, np.nan, 0)
    observed = float(np.mean(a_correct == b_correct))
    pa, pb = a_correct.mean(), b_correct.mean()
    expected = float(pa * pb + (1 - pa) * (1 - pb))
    kappa = np.nan if expected >= 1.0 else (observed - expected) / (1.0 - expected)
    return ErrorConsistency(float(kappa), observed, expected, n)
