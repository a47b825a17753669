"""factory_boy factories with readable defaults. Images made here have variant rows whose files
are tiny JPEGs written through the storage API, so URLs and reads work."""

import io
import uuid

import factory
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image as PILImage

from studyapp import models


def _jpeg_bytes(seed: int) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (8, 8), (seed % 256, 128, 64)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


class DatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Dataset
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"dataset-{n}")


class GeneratorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Generator
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"generator-{n}")
    family = models.Generator.Family.DIFFUSION


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Category
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"category-{n}")


class ImageFactory(factory.django.DjangoModelFactory):
    """A fake image by default; pass label="real" (and generator=None) for a real one."""

    class Meta:
        model = models.Image
        skip_postgeneration_save = True

    dataset = factory.SubFactory(DatasetFactory, name="images")
    label = "fake"
    generator = factory.Maybe(
        factory.LazyAttribute(lambda o: o.label == "fake"),
        yes_declaration=factory.SubFactory(GeneratorFactory, name="sd14"),
        no_declaration=None,
    )
    category = factory.SubFactory(CategoryFactory, name="faces")
    split = "test"
    original = factory.LazyFunction(lambda: f"originals/{uuid.uuid4().hex}.png")
    sha256 = factory.LazyFunction(lambda: uuid.uuid4().hex + uuid.uuid4().hex)
    width = 512
    height = 512
    format = "PNG"
    bytes = 100_000

    @factory.post_generation
    def sizes(self, create: bool, extracted: list[int] | None, **kwargs) -> None:
        """Variant rows (and files) for these display sizes; default [512]."""
        if not create:
            return
        for size in extracted or [512]:
            variant = models.ImageVariant(image=self, size=size, width=size, height=size, bytes=0)
            payload = _jpeg_bytes(self.pk + size)
            variant.file.save(f"{uuid.uuid4().hex}.jpg", ContentFile(payload), save=False)
            variant.bytes = len(payload)
            variant.save()


class StudyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Study
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"study-{n}")
    title = factory.LazyAttribute(lambda o: f"Study {o.slug}")
    status = models.Study.Status.LIVE
    trials_per_participant = 10
    practice_trials = 0
    attention_checks = 0
    seed = 42

    @factory.post_generation
    def datasets(self, create: bool, extracted, **kwargs) -> None:
        if create and extracted:
            self.datasets.set(extracted)


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Participant

    study = factory.SubFactory(StudyFactory)
    consented_at = factory.LazyFunction(timezone.now)


class TrialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Trial

    participant = factory.SubFactory(ParticipantFactory)
    index = factory.Sequence(lambda n: n)
    kind = models.Trial.Kind.MAIN
    size = 512
    image = factory.SubFactory(ImageFactory)
    variant = factory.LazyAttribute(lambda o: o.image.variants.get(size=o.size))


class ResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Response

    trial = factory.SubFactory(TrialFactory)
    choice = "fake"
    correct = factory.LazyAttribute(lambda o: o.choice == o.trial.image.label)
    rt_ms = 900


class DetectorRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.DetectorRun

    name = factory.Sequence(lambda n: f"run-{n}")
    recipe = "tiny_cpu.toml"
    status = models.DetectorRun.Status.SUCCEEDED


class ScoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Score

    run = factory.SubFactory(DetectorRunFactory)
    image = factory.SubFactory(ImageFactory)
    size = 512
    p_fake = 0.9
