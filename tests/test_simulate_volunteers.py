"""simulate_volunteers drives the participant API with known accuracies."""

from collections import defaultdict

import pytest
from django.core.management import call_command

from studyapp.models import Participant, Response
from tests.factories import DatasetFactory, GeneratorFactory, ImageFactory, StudyFactory

pytestmark = pytest.mark.django_db


def test_simulated_volunteers_answer_with_the_accuracy_asked_per_generator(capsys) -> None:
    dataset = DatasetFactory(name="sim")
    easy, hard = GeneratorFactory(name="easy"), GeneratorFactory(name="hard")
    for i in range(40):
        ImageFactory(dataset=dataset, label="real")
        ImageFactory(dataset=dataset, label="fake", generator=(easy, hard)[i % 2])
    StudyFactory(slug="sim", datasets=[dataset], trials_per_participant=40, confidence_scale=4)

    call_command("simulate_volunteers", "sim", "--n", "30", "--accuracy", "0.7",
                 "--by-generator", "easy=0.95,hard=0.5", "--seed", "3")  # fmt: skip

    assert "30 simulated volunteers answered 1200 trials" in capsys.readouterr().out
    assert Participant.objects.filter(simulated=True, finished_at__isnull=False).count() == 30
    outcome = defaultdict(list)
    for response in Response.objects.select_related("trial__image__generator"):
        image = response.trial.image
        outcome[image.generator.name if image.generator else "real"].append(response.correct)
        assert 1 <= response.confidence <= 4 and response.rt_ms > 0
    rates = {group: sum(v) / len(v) for group, v in outcome.items()}
    assert rates["easy"] == pytest.approx(0.95, abs=0.04)  # 300 answers each: ±4 points ≈ 3 SE
    assert rates["hard"] == pytest.approx(0.5, abs=0.09)
    assert rates["real"] == pytest.approx(0.7, abs=0.05)
