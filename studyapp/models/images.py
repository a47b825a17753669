"""Image sets: where images come from, what they are, and the display variants shown to people
and scored by detectors."""

import uuid

from django.db import models
from django.db.models import Q


class Dataset(models.Model):
    name = models.SlugField(max_length=100, unique=True)
    source = models.CharField(max_length=500, blank=True, help_text="Where the images came from.")
    licence = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Generator(models.Model):
    class Family(models.TextChoices):
        GAN = "gan", "GAN"
        DIFFUSION = "diffusion", "Diffusion"
        AUTOREGRESSIVE = "autoregressive", "Autoregressive"
        OTHER = "other", "Other"

    name = models.CharField(max_length=100, unique=True)
    family = models.CharField(max_length=20, choices=Family.choices, default=Family.OTHER)
    version = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Label(models.TextChoices):
    REAL = "real", "Real photograph"
    FAKE = "fake", "Generated"


class Split(models.TextChoices):
    TRAIN = "train", "Train"
    VAL = "val", "Validation"
    TEST = "test", "Test"


class Image(models.Model):
    """One original image. Its integer pk stays internal; `uuid` is the public id."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="images")
    label = models.CharField(max_length=4, choices=Label.choices)
    generator = models.ForeignKey(
        Generator, null=True, blank=True, on_delete=models.PROTECT, related_name="images"
    )
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="images"
    )
    split = models.CharField(max_length=5, choices=Split.choices, blank=True)
    original = models.FileField(upload_to="originals/", max_length=200)
    sha256 = models.CharField(max_length=64, unique=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(
        max_length=10, help_text="Format of the original, as Pillow names it."
    )
    bytes = models.PositiveBigIntegerField(help_text="Byte size of the original file.")
    prompt = models.TextField(blank=True)
    source_path = models.CharField(max_length=1000, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    attention_check = models.BooleanField(
        default=False,
        help_text="Reserved for attention checks: never drawn as a main trial.",
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                name="real_image_has_no_generator",
                condition=Q(label="fake") | Q(generator__isnull=True),
            ),
            models.CheckConstraint(
                name="image_label_valid", condition=Q(label__in=["real", "fake"])
            ),
        ]
        indexes = [
            models.Index(fields=["dataset", "split", "label"]),
            models.Index(fields=["generator", "label"]),
        ]

    def __str__(self) -> str:
        return f"{self.uuid} ({self.label})"


class ImageVariant(models.Model):
    """An image re-encoded for one display size. Real and fake variants go through the same
    resampling and encoder settings and carry no metadata; file names are random."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="variants")
    size = models.PositiveIntegerField(help_text="Long side in pixels.")
    file = models.FileField(upload_to="v/", max_length=200)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bytes = models.PositiveIntegerField()

    class Meta:
        ordering = ["image_id", "size"]
        constraints = [
            models.UniqueConstraint(fields=["image", "size"], name="one_variant_per_image_size"),
        ]
        indexes = [models.Index(fields=["size", "image"])]

    def __str__(self) -> str:
        return f"{self.image.uuid} @ {self.size}px"
