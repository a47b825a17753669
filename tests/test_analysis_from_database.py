"""`python -m analysis.compare --study SLUG` reads the study from the database and agrees with
a direct count of the stored responses."""

from pathlib import Path

import pandas as pd
import pytest
from django.core.management import call_command

from analysis.compare import main
from studyapp.models import Response
from tests.factories import (
    DatasetFactory,
    DetectorRunFactory,
    GeneratorFactory,
    ImageFactory,
    ScoreFactory,
    StudyFactory,
)

pytestmark = pytest.mark.django_db


def test_compare_from_the_database_matches_the_stored_answers(tmp_path: Path) -> None:
    dataset = DatasetFactory(name="db")
    generators = [GeneratorFactory(name="easy"), GeneratorFactory(name="hard")]
    run = DetectorRunFactory(name="tiny")
    for i in range(40):
        real = ImageFactory(dataset=dataset, label="real")
        fake = ImageFactory(dataset=dataset, label="fake", generator=generators[i % 2])
        ScoreFactory(run=run, image=real, p_fake=0.2 + 0.01 * (i % 10))
        ScoreFactory(run=run, image=fake, p_fake=0.7 + 0.01 * (i % 10))
    StudyFactory(slug="db", datasets=[dataset], trials_per_participant=20, confidence_scale=4)
    call_command("simulate_volunteers", "db", "--n", "12", "--by-generator", "easy=0.9,hard=0.55")

    status = main(["--study", "db", "--out", str(tmp_path / "out"), "--include-simulated",
                   "--n-boot", "50", "--no-mixed"])  # fmt: skip

    assert status == 0
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    overall = summary[summary.dimension == "overall"].iloc[0]
    stored = Response.objects.filter(trial__kind="main")
    assert overall.n_responses == stored.count() == 240
    assert overall.human_acc == pytest.approx(stored.filter(correct=True).count() / 240)
    assert overall.clf_run == "tiny" and overall.clf_acc == 1.0  # every score is on its side of 0.5
    by_generator = summary[summary.dimension == "generator"].set_index("group")
    for name in ("easy", "hard"):
        answers = stored.filter(trial__image__generator__name=name)
        expected = answers.filter(correct=True).count() / answers.count()
        assert by_generator.loc[name, "human_acc"] == pytest.approx(expected)
    assert (tmp_path / "out" / "report.html").stat().st_size > 10_000


def test_simulated_volunteers_are_left_out_unless_asked_for(tmp_path: Path, capsys) -> None:
    dataset = DatasetFactory(name="db2")
    for i in range(10):
        ImageFactory(dataset=dataset, label=("real", "fake")[i % 2])
    StudyFactory(slug="db2", datasets=[dataset], trials_per_participant=4)
    call_command("simulate_volunteers", "db2", "--n", "2")

    status = main(["--study", "db2", "--out", str(tmp_path / "out"), "--no-mixed"])

    assert status == 2
    assert "no responses" in capsys.readouterr().err
