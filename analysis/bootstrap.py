"""The crossed (participants × images) bootstrap, vectorised.

Responses are crossed: every participant sees many images and every image is seen by many
participants, so neither resampling participants alone nor images alone captures the variance. We
use the product-weight ("pigeonhole") bootstrap of Owen (2007, Ann. Appl. Stat. 1(1)) with Poisson
weights (Owen & Eckles 2012): each replicate draws W_p ~ Poisson(1) for every participant and
W_i ~ Poisson(1) for every image, and a response counts W_p·W_i times. Owen shows this estimates
the variance of a mean over a crossed design with a small upward bias, so its intervals are slightly
conservative. Intervals are percentile intervals.

For speed nothing is resampled row by row: per chunk of replicates, the participant weights enter
through one sparse (items × participants) product, the image weights multiply the item sums, and a
sparse (items × groups) membership matrix adds items into groups — O(responses × replicates) flops
in a few large matrix operations. Classifier statistics use the same image weights, so human and
classifier accuracies of one replicate are paired.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

_CHUNK_ELEMENTS = 8_000_000


@dataclass(frozen=True)
class CrossedSums:
    """Per replicate (axis 0) and group (axis 1): weighted sums of each response column (axis 2 of
    `responses`) and of each item column (axis 2 of `items`)."""

    responses: np.ndarray  # (n_boot, n_groups, n_response_columns)
    items: np.ndarray  # (n_boot, n_groups, n_item_columns)


def crossed_bootstrap_sums(
    *,
    participant: np.ndarray,
    item: np.ndarray,
    response_values: np.ndarray,
    item_unit: np.ndarray,
    membership: sp.csr_array,
    item_values: np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    progress: bool = False,
) -> CrossedSums:
    """Bootstrap sums of response- and item-level values per group.

    participant, item: integer codes per response; response_values: (n_responses, k) values summed
    with weight W_participant·W_unit; item_unit: the resampled image unit of each item;
    membership: (n_items, n_groups) 0/1; item_values: (n_items, m) values summed with W_unit only.
    """
    n_items, n_groups = membership.shape
    n_participants = int(participant.max()) + 1 if len(participant) else 0
    n_units = int(item_unit.max()) + 1 if len(item_unit) else 0
    response_values = np.asarray(response_values, float).reshape(len(participant), -1)
    item_values = np.zeros((n_items, 0)) if item_values is None else np.asarray(item_values, float)
    item_values = item_values.reshape(n_items, -1)
    k = response_values.shape[1]
    stacked = sp.vstack(
        [
            sp.csr_array(
                (response_values[:, j], (item, participant)), shape=(n_items, n_participants)
            )
            for j in range(k)
        ]
    ).tocsr()  # (k·n_items, n_participants)
    membership_t = membership.T.tocsr()
    out_responses = np.empty((n_boot, n_groups, k))
    out_items = np.empty((n_boot, n_groups, item_values.shape[1]))
    chunk = max(1, min(n_boot, _CHUNK_ELEMENTS // max(1, k * n_items)))
    rng = np.random.default_rng(seed)
    starts = range(0, n_boot, chunk)
    for start in tqdm(starts, desc="bootstrap", disable=not progress, leave=False):
        size = min(chunk, n_boot - start)
        w_participant = rng.poisson(1.0, (n_participants, size)).astype(float)
        w_unit = rng.poisson(1.0, (n_units, size)).astype(float)[item_unit]  # (n_items, size)
        by_item = (stacked @ w_participant).reshape(k, n_items, size) * w_unit
        for j in range(k):
            out_responses[start : start + size, :, j] = (membership_t @ by_item[j]).T
        for j in range(item_values.shape[1]):
            weighted = w_unit * item_values[:, j : j + 1]
            out_items[start : start + size, :, j] = (membership_t @ weighted).T
    return CrossedSums(out_responses, out_items)


def percentile_interval(draws: np.ndarray, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over axis 0, ignoring replicates where the statistic is undefined."""
    draws = np.asarray(draws, float)
    low = np.full(draws.shape[1:], np.nan)
    high = np.full(draws.shape[1:], np.nan)
    defined = (~np.isnan(draws)).any(axis=0)
    if defined.any():
        qs = np.nanquantile(draws[:, defined], [alpha / 2, 1 - alpha / 2], axis=0)
        low[defined], high[defined] = qs[0], qs[1]
    return low, high


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator with NaN where the denominator is 0 (an empty replicate)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan
        )
