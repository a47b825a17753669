"""Studies with known votes and scores for the API and export tests, API clients, and a fast
builder of large labelled sets (bulk inserts, no files) for the streaming test and the bench."""

import uuid
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from studyapp.models import (
    Dataset,
    DetectorRun,
    Generator,
    Image,
    ImageVariant,
    Participant,
    Response,
    Score,
    Study,
    Trial,
)
from tests.factories import (
    CategoryFactory,
    DatasetFactory,
    DetectorRunFactory,
    GeneratorFactory,
    ImageFactory,
    ParticipantFactory,
    ScoreFactory,
    StudyFactory,
)


def user(name: str, *, staff: bool = False, active: bool = True):
    return get_user_model().objects.create_user(
        username=name, password="x-" + uuid.uuid4().hex, is_staff=staff, is_active=active
    )


def token_client(account) -> APIClient:
    """A client that authenticates as scripts do: `Authorization: Token <key>`."""
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=account)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@dataclass
class Scenario:
    study: Study
    images: dict[str, Image]
    participants: dict[str, Participant] = field(default_factory=dict)


def _answer(participant, image, size, choice, confidence, *, kind="main", index=None, right=None):
    """A trial and its response; `choice=None` leaves the trial unanswered."""
    trial = Trial.objects.create(
        participant=participant,
        index=participant.trials.count() if index is None else index,
        kind=kind,
        size=size,
        image=image,
        variant=image.variants.get(size=size),
        image_right=right,
        variant_right=right.variants.get(size=size) if right else None,
    )
    if choice is not None:
        if choice in ("left", "right"):
            picked = image if choice == "left" else right
            correct = picked.label == "fake"
        else:
            correct = choice == image.label
        Response.objects.create(
            trial=trial,
            choice=choice,
            correct=correct,
            confidence=confidence,
            rt_ms=700 + trial.index,
            rendered_width=size,
            rendered_height=size,
            device_pixel_ratio=2.0,
        )
    return trial


def single_mode_study() -> Scenario:
    """Four pool images at 256 and 512 px, with votes whose stats the tests work out by hand:

    fake_a (sd14, faces), fake_b (progan, cats), real_a (faces), real_b (cats); outside the
    pool: a practice image, an attention-check image and an image of another dataset.
    Participants p1, p2, p3; px is excluded, ps is simulated. Target: 3 responses per image.
    """
    dataset = DatasetFactory(name="faces-v1")
    images = {
        "fake_a": ImageFactory(
            dataset=dataset,
            generator=GeneratorFactory(name="sd14"),
            category=CategoryFactory(name="faces"),
            width=640,
            height=480,
            format="PNG",
            bytes=123_456,
            sizes=[256, 512],
        ),
        "fake_b": ImageFactory(
            dataset=dataset,
            generator=GeneratorFactory(name="progan"),
            category=CategoryFactory(name="cats"),
            sizes=[256, 512],
        ),
        "real_a": ImageFactory(
            dataset=dataset,
            label="real",
            category=CategoryFactory(name="faces"),
            format="JPEG",
            split="",
            sizes=[256, 512],
        ),
        "real_b": ImageFactory(
            dataset=dataset, label="real", category=CategoryFactory(name="cats"), sizes=[256, 512]
        ),
        "practice": ImageFactory(dataset=dataset, label="real", sizes=[256, 512]),
        "check": ImageFactory(dataset=dataset, attention_check=True, sizes=[256, 512]),
        "elsewhere": ImageFactory(dataset=DatasetFactory(name="other"), sizes=[256, 512]),
    }
    study = StudyFactory(
        slug="faces-study",
        datasets=[dataset],
        display_sizes=[256, 512],
        confidence_scale=5,
        target_responses_per_image=3,
    )
    study.practice_images.add(images["practice"])
    scenario = Scenario(study, images)
    p = scenario.participants
    for name in ("p1", "p2", "p3", "px", "ps"):
        p[name] = ParticipantFactory(study=study)
    p["px"].excluded, p["px"].exclusion_reason = True, "failed attention checks"
    p["px"].save()
    p["ps"].simulated = True
    p["ps"].save()
    i = images
    _answer(p["p1"], i["practice"], 512, "real", 3, kind="practice")
    _answer(p["p1"], i["fake_a"], 512, "fake", 5)
    _answer(p["p1"], i["real_a"], 512, "fake", 2)
    _answer(p["p1"], i["fake_b"], 256, "real", 3)
    _answer(p["p1"], i["check"], 512, "fake", 4, kind="attention")
    _answer(p["p2"], i["fake_a"], 512, "fake", 4)
    _answer(p["p2"], i["real_a"], 512, "real", 4)
    _answer(p["p2"], i["real_b"], 256, "real", None)
    _answer(p["p2"], i["fake_b"], 512, None, None)  # assigned, not answered yet
    _answer(p["p3"], i["fake_a"], 256, "real", 1)
    _answer(p["p3"], i["real_a"], 512, "real", 5)
    _answer(p["p3"], i["fake_b"], 256, "fake", 2)
    _answer(p["px"], i["fake_a"], 512, "real", 1)
    _answer(p["ps"], i["fake_a"], 512, "fake", 3)
    run_a = DetectorRunFactory(name="convnext-a")
    ScoreFactory(run=run_a, image=i["fake_a"], size=512, p_fake=0.91)
    ScoreFactory(run=run_a, image=i["fake_a"], size=256, p_fake=0.8)
    ScoreFactory(run=run_a, image=i["real_a"], size=512, p_fake=0.12)
    ScoreFactory(
        run=DetectorRunFactory(name="convnext-b"), image=i["fake_a"], size=512, p_fake=0.55
    )
    ScoreFactory(run=DetectorRunFactory(name="elsewhere-run"), image=i["elsewhere"], size=512)
    ScoreFactory(run=DetectorRunFactory(name="big-run"), image=i["fake_a"], size=1024)
    return scenario


def pair_mode_study() -> Scenario:
    """Pairs at 512 px: p1 sees (f1 | r1) and picks left; p2 sees (r1 | f1) and picks left;
    p3 sees (f2 | r2) and picks right."""
    dataset = DatasetFactory(name="pairs-v1")
    images = {
        "f1": ImageFactory(dataset=dataset, generator=GeneratorFactory(name="sd14"), sizes=[512]),
        "f2": ImageFactory(dataset=dataset, generator=GeneratorFactory(name="sd14"), sizes=[512]),
        "r1": ImageFactory(dataset=dataset, label="real", sizes=[512]),
        "r2": ImageFactory(dataset=dataset, label="real", sizes=[512]),
    }
    study = StudyFactory(
        slug="pairs-study",
        mode=Study.Mode.PAIR,
        datasets=[dataset],
        display_sizes=[512],
        confidence_scale=5,
    )
    scenario = Scenario(study, images)
    p = scenario.participants
    for name in ("p1", "p2", "p3"):
        p[name] = ParticipantFactory(study=study)
    i = images
    _answer(p["p1"], i["f1"], 512, "left", 4, right=i["r1"])
    _answer(p["p2"], i["r1"], 512, "left", 2, right=i["f1"])
    _answer(p["p3"], i["f2"], 512, "right", 3, right=i["r2"])
    return scenario


def bulk_labelled_set(
    n_images: int, *, sizes: tuple[int, ...] = (256, 512), runs: int = 2, participants: int = 50
) -> Study:
    """A study whose labelled set has n_images × len(sizes) rows, each scored by `runs` runs,
    with `participants` participants answering 20 main trials each. Rows are bulk-inserted and
    reference no stored files (the export never opens them)."""
    dataset = Dataset.objects.create(name=f"bulk-{uuid.uuid4().hex[:8]}")
    sd14, _ = Generator.objects.get_or_create(name="sd14")
    now = timezone.now()
    images = Image.objects.bulk_create(
        [
            Image(
                dataset=dataset,
                label="fake" if n % 2 else "real",
                generator=sd14 if n % 2 else None,
                split="test",
                original=f"originals/{n:064x}.png",
                sha256=uuid.uuid4().hex + uuid.uuid4().hex,
                width=512,
                height=384,
                format="PNG",
                bytes=200_000 + n,
                created=now,
            )
            for n in range(n_images)
        ],
        batch_size=5000,
    )
    variants = ImageVariant.objects.bulk_create(
        [
            ImageVariant(
                image=image,
                size=size,
                file=f"v/{uuid.uuid4().hex}.jpg",
                width=size,
                height=size * 3 // 4,
                bytes=30_000,
            )
            for image in images
            for size in sizes
        ],
        batch_size=5000,
    )
    for r in range(runs):
        run = DetectorRun.objects.create(name=f"bulk-run-{r}-{dataset.name}", recipe="tiny.toml")
        Score.objects.bulk_create(
            [
                Score(run=run, image_id=v.image_id, size=v.size, p_fake=(v.image_id % 97) / 97)
                for v in variants
            ],
            batch_size=5000,
        )
    study = Study.objects.create(
        slug=f"bulk-{dataset.name}", title="Bulk", display_sizes=list(sizes)
    )
    study.datasets.add(dataset)
    people = Participant.objects.bulk_create(
        [Participant(study=study, consented_at=now) for _ in range(participants)]
    )
    trials = Trial.objects.bulk_create(
        [
            Trial(
                participant=person,
                index=k,
                kind=Trial.Kind.MAIN,
                size=variant.size,
                image_id=variant.image_id,
                variant=variant,
            )
            for n, person in enumerate(people)
            for k, variant in enumerate(variants[n * 40 : n * 40 + 40 : 2])
        ],
        batch_size=5000,
    )
    labels = {image.pk: image.label for image in images}
    Response.objects.bulk_create(
        [
            Response(trial=t, choice="fake", correct=labels[t.image_id] == "fake", confidence=3)
            for t in trials
        ],
        batch_size=5000,
    )
    return study
