import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from detector.cli import main
from detector.evaluation import evaluate_scores, expected_calibration_error
from detector.scoring import ScoreRow, read_scores_csv, write_scores_csv


def _row(label: str, p: float, generator: str | None = None, path: str = "") -> ScoreRow:
    return ScoreRow(path or f"{label}-{p}", label, p, {"real": 1 - p, "fake": p}, generator)


# Reals without a generator are negatives for every generator; the one real of "g2" only for g2.
REALS = [_row("real", p) for p in (0.1, 0.3, 0.6, 0.2)] + [_row("real", 0.45, "g2")]
FAKES_G1 = [_row("fake", p, "g1") for p in (0.9, 0.4, 0.7)]
FAKES_G2 = [_row("fake", p, "g2") for p in (0.8, 0.55)]
ROWS = REALS + FAKES_G1 + FAKES_G2


def test_accuracy_per_class_matches_a_hand_count():
    g1, g2, overall = evaluate_scores(ROWS).rows
    # g1: reals 0.1 0.3 0.6 0.2 -> 3 of 4 below 0.5; fakes 0.9 0.4 0.7 -> 2 of 3 at or above
    assert (g1.group, g1.n_real, g1.n_fake) == ("g1", 4, 3)
    assert (g1.acc_real, g1.acc_fake, g1.acc) == (3 / 4, 2 / 3, 5 / 7)
    # g2: its own real (0.45) joins the shared four -> 4 of 5; fakes 0.8 0.55 -> 2 of 2
    assert (g2.n_real, g2.n_fake) == (5, 2)
    assert (g2.acc_real, g2.acc_fake, g2.acc) == (4 / 5, 1.0, 6 / 7)
    assert (overall.group, overall.n_real, overall.n_fake) == ("all", 5, 5)
    assert (overall.acc_real, overall.acc_fake, overall.acc) == (4 / 5, 4 / 5, 8 / 10)


def test_ap_and_auc_equal_scikit_learn_on_the_same_arrays():
    table = evaluate_scores(ROWS)
    groups = {"g1": REALS[:4] + FAKES_G1, "g2": REALS + FAKES_G2, "all": ROWS}
    for row in table.rows:
        members = groups[row.group]
        y = np.array([m.label == "fake" for m in members])
        p = np.array([m.p_fake for m in members])
        assert row.ap == average_precision_score(y, p)
        assert row.auc == roc_auc_score(y, p)


def test_expected_calibration_error_by_hand():
    is_fake = np.array([True, True, False, True])
    p_fake = np.array([0.9, 0.08, 0.3, 0.6])
    # confidences 0.9 and 0.92 share the bin (13/15, 14/15]: accuracy 1/2 vs mean confidence
    # 0.91; 0.7 (right) and 0.6 (right) sit alone in theirs:
    # 2/4 * |0.5 - 0.91| + 1/4 * |1 - 0.7| + 1/4 * |1 - 0.6| = 0.205 + 0.075 + 0.1
    assert expected_calibration_error(is_fake, p_fake) == pytest.approx(0.38)
    perfect = np.array([1.0, 0.0, 1.0])
    assert expected_calibration_error(perfect == 1, perfect) == 0.0


def test_a_group_with_one_label_has_no_ap_or_auc():
    only = evaluate_scores([FAKES_G1[0], _row("fake", 0.2, "g1")]).rows[-1]
    assert math.isnan(only.ap) and math.isnan(only.auc) and math.isnan(only.acc_real)
    assert only.acc_fake == 0.5


def test_nway_scores_report_attribution_accuracy():
    def nway(label, generator, probs):
        return ScoreRow("x", label, 1 - probs["real"], probs, generator)

    rows = [
        nway("real", None, {"real": 0.7, "a": 0.2, "b": 0.1}),
        nway("fake", "a", {"real": 0.1, "a": 0.3, "b": 0.6}),  # fake, but blamed on b
        nway("fake", "b", {"real": 0.2, "a": 0.1, "b": 0.7}),
    ]
    assert evaluate_scores(rows).attribution_accuracy == pytest.approx(2 / 3)
    assert evaluate_scores(ROWS).attribution_accuracy is None


def test_evaluate_command_reads_a_scores_csv(tmp_path, capsys):
    scores = tmp_path / "scores.csv"
    write_scores_csv(ROWS, scores)
    assert [(r.label, r.p_fake, r.generator) for r in read_scores_csv(scores)] == [
        (r.label, r.p_fake, r.generator) for r in ROWS
    ]
    assert main(["evaluate", "--scores", str(scores), "--out", str(tmp_path / "t.csv")]) == 0
    printed = capsys.readouterr().out
    assert "acc_real" in printed and "g1" in printed and "0.8000" in printed
    header, *lines = (tmp_path / "t.csv").read_text().splitlines()
    assert header.split(",")[:4] == ["group", "n_real", "n_fake", "acc_real"]
    assert [line.split(",")[0] for line in lines] == ["g1", "g2", "all"]
