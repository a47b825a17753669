"""Creating, opening and closing studies."""

import random

from django.conf import settings
from django.db import transaction

from studyapp.errors import BeholderError
from studyapp.models import Dataset, Image, Study
from studyapp.selectors.pool import study_pool

DEFAULT_CONSENT = """\
This study is part of research on how well people can tell real photographs from images made by
AI generators. You will see a series of images and say for each whether you think it is a real
photo or AI-generated. It takes about ten minutes.

- Taking part is voluntary; you can stop at any time by closing the page.
- We record your answers, how long you took, and your screen's image size. We do not record your
  name or contact details.
- Results are published only in aggregate.
"""

DEFAULT_INSTRUCTIONS = """\
You will see one image at a time. Decide whether it is a **real photograph** or
**AI-generated**. Go with your first impression; there is no need to deliberate. The first few
images are practice: you will be told whether you were right.
"""


class StudyInvalid(BeholderError):
    """Settings that cannot make a working study."""


def study_create(
    *,
    slug: str,
    dataset: Dataset,
    title: str = "",
    trials_per_participant: int = 40,
    display_sizes: list[int] | None = None,
    practice_trials: int = 4,
    attention_checks: int = 2,
    confidence_scale: int | None = None,
    exposure_ms: int | None = None,
    mode: str = Study.Mode.SINGLE,
    live: bool = False,
) -> Study:
    """A study over the dataset's test split (all of it when it has no split).

    Practice images come from the dataset's train split when it has one, else they are set
    aside from the pool; either way they are never drawn as main trials.
    """
    sizes = sorted(display_sizes or [max(settings.BEHOLDER_VARIANT_SIZES)])
    missing = set(sizes) - set(settings.BEHOLDER_VARIANT_SIZES)
    if missing:
        raise StudyInvalid(
            f"display sizes {sorted(missing)} have no variants; rendered sizes are "
            f"{settings.BEHOLDER_VARIANT_SIZES} (BEHOLDER_VARIANT_SIZES)"
        )
    if Study.objects.filter(slug=slug).exists():
        raise StudyInvalid(f"a study with slug {slug!r} exists already")
    has_test = dataset.images.filter(split="test").exists()
    with transaction.atomic():
        study = Study.objects.create(
            slug=slug,
            title=title or slug.replace("-", " ").capitalize(),
            consent_text=DEFAULT_CONSENT,
            instructions_text=DEFAULT_INSTRUCTIONS,
            split="test" if has_test else "",
            trials_per_participant=trials_per_participant,
            practice_trials=practice_trials,
            attention_checks=attention_checks,
            confidence_scale=confidence_scale,
            exposure_ms=exposure_ms,
            mode=mode,
            display_sizes=sizes,
            status=Study.Status.LIVE if live else Study.Status.DRAFT,
        )
        study.datasets.add(dataset)
        _reserve_practice_images(study, dataset, has_test)
        study_check(study)
    return study


def study_check(study: Study) -> None:
    """Raises StudyInvalid when the pool cannot give one participant a full set of trials."""
    labels = dict.fromkeys(("real", "fake"), 0)
    for label in study_pool(study).values_list("label", flat=True):
        labels[label] += 1
    n_real = round(study.trials_per_participant * study.real_fraction)
    n_fake = study.trials_per_participant - n_real
    if study.mode == Study.Mode.PAIR:
        n_real = n_fake = study.trials_per_participant
    if labels["real"] < n_real or labels["fake"] < n_fake:
        raise StudyInvalid(
            f"the pool has {labels['real']} real and {labels['fake']} generated images; each "
            f"participant needs {n_real} real and {n_fake} generated"
        )
    per_trial = 2 if study.mode == Study.Mode.PAIR else 1
    n_practice_images = study.practice_images.count()
    if n_practice_images < per_trial * study.practice_trials:
        raise StudyInvalid(
            f"{study.practice_trials} practice trials need {per_trial * study.practice_trials} "
            f"practice images; the study has {n_practice_images}"
        )


def study_set_status(*, study: Study, status: str) -> Study:
    if status == Study.Status.LIVE:
        study_check(study)
    study.status = status
    study.save(update_fields=["status", "updated"])
    return study


def _reserve_practice_images(study: Study, dataset: Dataset, has_test: bool) -> None:
    if study.practice_trials == 0:
        return
    source = dataset.images.filter(attention_check=False)
    source = source.exclude(split="test") if has_test else source
    rng = random.Random(study.seed)
    chosen: list[int] = []
    for label in ("real", "fake"):
        ids = sorted(source.filter(label=label).values_list("pk", flat=True))
        chosen += rng.sample(ids, min(len(ids), study.practice_trials))
    study.practice_images.set(Image.objects.filter(pk__in=chosen))
