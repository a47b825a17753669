"""Studies with known votes and scores for the API and export tests, API clients, and a fast
builder of large labelled sets (bulk inserts, no files) for the streaming test and the bench."""

import itertools
import uuid
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connections, transaction
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


def token_header(account) -> str:
    """The Authorization header value scripts send: `Token <key>`."""
    token, _ = Token.objects.get_or_create(user=account)
    return f"Token {token.key}"


def token_client(account) -> APIClient:
    """A client that authenticates as scripts do, with the account's token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=token_header(account))
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


def _insert(model, fields: list[str], rows) -> None:
    """Inserts plain value rows, far faster than bulk_create for the 100,000s of rows the
    streaming test and the bench need: COPY on PostgreSQL, many rows a statement on SQLite."""
    db = connections[DEFAULT_DB_ALIAS]
    columns = [model._meta.get_field(name) for name in fields]
    quote = db.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(column.column) for column in columns)
    prepared = [
        n for n, c in enumerate(columns) if c.get_internal_type() in ("UUIDField", "JSONField")
    ]

    def values(row) -> list:
        values = list(row)
        for n in prepared:
            values[n] = columns[n].get_db_prep_save(values[n], db)
        return values

    with transaction.atomic(), db.cursor() as cursor:
        if db.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(values(row))
            return
        one = f"({', '.join(['%s'] * len(columns))})"
        per_statement = 30_000 // len(columns)  # within SQLite's limit on parameters
        rows = iter(rows)
        while batch := list(itertools.islice(rows, per_statement)):
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES " + ", ".join([one] * len(batch)),
                [value for row in batch for value in values(row)],
            )


def bulk_labelled_set(
    n_images: int, *, sizes: tuple[int, ...] = (256, 512), runs: int = 2, participants: int = 50
) -> Study:
    """A study whose labelled set has n_images × len(sizes) rows, each scored by `runs` runs,
    with `participants` participants answering 20 main trials each. Rows reference no stored
    files (the export never opens them)."""
    dataset = Dataset.objects.create(name=f"bulk-{uuid.uuid4().hex[:8]}")
    sd14, _ = Generator.objects.get_or_create(name="sd14")
    now = timezone.now()
    _insert(
        Image,
        ["uuid", "dataset", "label", "generator", "split", "original", "sha256", "width",
         "height", "format", "bytes", "prompt", "source_path", "metadata", "attention_check",
         "created"],
        (
            (uuid.uuid4(), dataset.pk, "fake" if n % 2 else "real", sd14.pk if n % 2 else None,
             "test", f"originals/{n:064x}.png", f"{dataset.pk:08x}{n:056x}", 512, 384, "PNG",
             200_000 + n, "", "", {}, False, now)
            for n in range(n_images)
        ),
    )  # fmt: skip
    images = list(Image.objects.filter(dataset=dataset).order_by("pk").values_list("pk", "label"))
    _insert(
        ImageVariant,
        ["image", "size", "file", "width", "height", "bytes"],
        (
            (pk, size, f"v/{pk:024x}{size:08x}.jpg", size, size * 3 // 4, 30_000)
            for pk, _ in images
            for size in sizes
        ),
    )
    for r in range(runs):
        run = DetectorRun.objects.create(name=f"bulk-run-{r}-{dataset.name}", recipe="tiny.toml")
        _insert(
            Score,
            ["run", "image", "size", "p_fake"],
            ((run.pk, pk, size, (pk % 97) / 97) for pk, _ in images for size in sizes),
        )
    study = Study.objects.create(
        slug=f"bulk-{dataset.name}", title="Bulk", display_sizes=list(sizes)
    )
    study.datasets.add(dataset)
    people = Participant.objects.bulk_create(
        [Participant(study=study, consented_at=now) for _ in range(participants)]
    )
    variants = {
        (image, size): pk
        for pk, image, size in ImageVariant.objects.filter(
            image__dataset=dataset, size=sizes[0]
        ).values_list("pk", "image_id", "size")
    }
    trials = Trial.objects.bulk_create(
        [
            Trial(
                participant=person,
                index=k,
                kind=Trial.Kind.MAIN,
                size=sizes[0],
                image_id=image,
                variant_id=variants[image, sizes[0]],
            )
            for n, person in enumerate(people)
            for k, (image, _) in enumerate(images[n * 20 : n * 20 + 20])
        ],
        batch_size=5000,
    )
    labels = dict(images)
    Response.objects.bulk_create(
        [
            Response(trial=t, choice="fake", correct=labels[t.image_id] == "fake", confidence=3)
            for t in trials
        ],
        batch_size=5000,
    )
    if connections[DEFAULT_DB_ALIAS].vendor == "postgresql":
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("ANALYZE")  # the statistics autovacuum keeps on a live database
    return study
