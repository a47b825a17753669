"""The crossed random-intercept logistic regression."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from analysis.mixed import _duplicate, design_matrix, fit_mixed_model

# log-odds of a correct answer: real images 0.8, generator A 0.3, B 1.5; +0.4 at 512 px
TRUE_EFFECTS = {"generator[A]": -0.5, "generator[B]": 0.7, "size[512]": 0.4}


def _simulate(seed: int, n_participants=50, per_participant=60, n_images=300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    participant = np.repeat(np.arange(n_participants), per_participant)
    image = np.concatenate(
        [rng.choice(n_images, per_participant, replace=False) for _ in range(n_participants)]
    )
    generator = np.array(["real", "A", "B"])[image % 3]
    size = rng.choice([256, 512], len(image))
    base = pd.Series(generator).map({"real": 0.8, "A": 0.3, "B": 1.5}).to_numpy()
    eta = (
        base
        + 0.4 * (size == 512)
        + rng.normal(0, 0.6, n_participants)[participant]
        + rng.normal(0, 0.9, n_images)[image]
    )
    return pd.DataFrame(
        {
            "correct": rng.random(len(eta)) < expit(eta),
            "participant": participant.astype(str),
            "unit": image.astype(str),
            "generator": generator,
            "size": size,
            "category": "faces",
        }
    )


@pytest.fixture(scope="module")
def trials() -> pd.DataFrame:
    return _simulate(0)


@pytest.fixture(scope="module")
def laplace(trials):
    return fit_mixed_model(trials, method="laplace", n_boot=40, seed=1)


def test_laplace_recovers_the_simulated_effects(laplace):
    table = laplace.table.set_index("term")
    assert list(table.index) == ["Intercept", "generator[A]", "generator[B]", "size[512]"]
    for term, truth in TRUE_EFFECTS.items():
        assert table.loc[term, "estimate"] == pytest.approx(truth, abs=0.25), term
        assert table.loc[term, "low"] <= truth <= table.loc[term, "high"], term
    assert laplace.sd_participant == pytest.approx(0.6, abs=0.2)
    assert laplace.sd_image == pytest.approx(0.9, abs=0.25)
    assert np.allclose(table["odds_ratio"], np.exp(table["estimate"]))


def test_laplace_agrees_with_statsmodels_variational_bayes(trials, laplace):
    # statsmodels' BinomialBayesMixedGLM is an independent implementation of the same model.
    vb = fit_mixed_model(trials, method="vb", n_boot=0, seed=1)
    ours = laplace.table.set_index("term")["estimate"]
    theirs = vb.table.set_index("term")["estimate"]
    assert np.abs(ours - theirs).max() < 0.15
    assert vb.sd_image == pytest.approx(laplace.sd_image, abs=0.15)
    # its posterior SDs understate the sampling spread the crossed bootstrap sees
    spread = (laplace.table["high"] - laplace.table["low"]).to_numpy() / (2 * 1.96)
    assert (vb.table["model_se"].to_numpy()[1:] < spread[1:]).all()


def test_collinear_terms_are_dropped_and_named():
    frame = pd.DataFrame(
        {
            "generator": ["real", "A", "B", "A", "real", "B"],
            "size": [256, 256, 512, 512, 256, 512],
            "category": ["x", "y", "z", "y", "x", "z"],  # category = generator: collinear
        }
    )
    X, names, dropped = design_matrix(frame)
    assert X.shape[1] == len(names)
    assert names[:3] == ["Intercept", "generator[A]", "generator[B]"]
    assert dropped == ["category[y]", "category[z]"]
    assert np.linalg.matrix_rank(X) == X.shape[1]


def test_bootstrap_copies_become_distinct_levels():
    a = np.array([0, 0, 1, 1])
    b = np.array([0, 1, 0, 1])
    rows, new_a, new_b = _duplicate(a, b, np.array([2, 0]), np.array([1, 3]))
    # participant 0 twice, participant 1 never; image 0 once, image 1 three times
    assert rows.tolist() == [0, 0, 1, 1, 1, 1, 1, 1]
    assert len(set(new_a)) == 2 and len(set(new_b)) == 4
    pairs = set(zip(new_a.tolist(), new_b.tolist(), strict=True))
    assert len(pairs) == len(rows)  # every (participant copy, image copy) response once
