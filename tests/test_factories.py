"""The shared factories build consistent rows (other tests rely on them)."""

import pytest

from tests.factories import ImageFactory, ResponseFactory, ScoreFactory

pytestmark = pytest.mark.django_db


def test_factories_build_a_response_with_its_trial_image_and_variant_file() -> None:
    real = ImageFactory(label="real", sizes=[256, 512])
    assert real.generator is None and real.variants.count() == 2
    response = ResponseFactory(trial__image=real, choice="fake")
    assert response.correct is False
    assert response.trial.variant.image == real and response.trial.variant.size == 512
    assert response.trial.variant.file.read()[:2] == b"\xff\xd8"
    score = ScoreFactory(image=real, p_fake=0.2)
    assert score.image.label == "real"
