"""Studies and what volunteers do in them: participants, the trials they are shown and their
responses."""

import secrets
import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from studyapp.models.images import Category, Dataset, Generator, Image, ImageVariant, Split


def _new_completion_code() -> str:
    return secrets.token_hex(4).upper()


def _new_seed() -> int:
    return secrets.randbelow(2**31)


def _default_sizes() -> list[int]:
    return [512]


class Study(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        LIVE = "live", "Live"
        CLOSED = "closed", "Closed"

    class Mode(models.TextChoices):
        SINGLE = "single", "Single image: real or generated?"
        PAIR = "pair", "Pair: which of two is generated?"

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.DRAFT)
    consent_text = models.TextField(blank=True, help_text="Markdown.")
    instructions_text = models.TextField(blank=True, help_text="Markdown.")

    # The image pool: images of these datasets, narrowed by the optional filters.
    datasets = models.ManyToManyField(Dataset, related_name="studies")
    generators = models.ManyToManyField(
        Generator, blank=True, related_name="studies", help_text="Empty: every generator."
    )
    categories = models.ManyToManyField(
        Category, blank=True, related_name="studies", help_text="Empty: every category."
    )
    split = models.CharField(
        max_length=5, choices=Split.choices, blank=True, help_text="Empty: every split."
    )

    practice_images = models.ManyToManyField(
        Image,
        blank=True,
        related_name="practice_in_studies",
        help_text="Shown in practice trials, with feedback; never drawn as main trials.",
    )
    researchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="studies",
        help_text="Who may read this study's data through the API (staff always may).",
    )

    mode = models.CharField(max_length=6, choices=Mode.choices, default=Mode.SINGLE)
    trials_per_participant = models.PositiveIntegerField(default=40)
    practice_trials = models.PositiveIntegerField(default=4)
    attention_checks = models.PositiveIntegerField(default=2)
    max_attention_failures = models.PositiveIntegerField(
        default=0, help_text="More failed attention checks than this excludes the participant."
    )
    real_fraction = models.FloatField(
        default=0.5, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    display_sizes = models.JSONField(
        default=_default_sizes, help_text="Long side in px, e.g. [256, 512]."
    )
    exposure_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty: the image stays until answered."
    )
    confidence_scale = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(2), MaxValueValidator(9)],
        help_text="Empty: no confidence rating; k: a 1..k scale.",
    )
    target_responses_per_image = models.PositiveIntegerField(
        null=True, blank=True, help_text="Retire an image once it has this many responses."
    )
    completion_url = models.URLField(blank=True, help_text="Where finished participants go.")
    completion_code = models.CharField(max_length=64, default=_new_completion_code)
    excluded_completion_code = models.CharField(max_length=64, default=_new_completion_code)
    max_participants = models.PositiveIntegerField(null=True, blank=True)
    seed = models.PositiveIntegerField(default=_new_seed)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created"]
        verbose_name_plural = "studies"
        constraints = [
            models.CheckConstraint(
                name="study_real_fraction_in_unit_interval",
                condition=Q(real_fraction__gte=0) & Q(real_fraction__lte=1),
            ),
        ]

    def __str__(self) -> str:
        return self.slug


class Participant(models.Model):
    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="participants")
    external_id_hash = models.CharField(
        max_length=64,
        blank=True,
        help_text="Keyed hash of e.g. PROLIFIC_PID; the raw id is not kept.",
    )
    entry_params = models.JSONField(
        default=dict, blank=True, help_text="e.g. STUDY_ID, SESSION_ID."
    )
    consented_at = models.DateTimeField()
    user_agent = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    n_trials = models.PositiveIntegerField(default=0)
    next_index = models.PositiveIntegerField(
        default=0, help_text="Index of the next unanswered trial."
    )
    completion_code = models.CharField(max_length=64, blank=True)
    attention_failures = models.PositiveIntegerField(default=0)
    excluded = models.BooleanField(default=False)
    exclusion_reason = models.CharField(max_length=200, blank=True)
    simulated = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "external_id_hash"],
                condition=~Q(external_id_hash=""),
                name="one_participant_per_external_id",
            ),
        ]

    def __str__(self) -> str:
        return f"participant {self.pk} of {self.study_id}"


class Trial(models.Model):
    class Kind(models.TextChoices):
        PRACTICE = "practice", "Practice"
        MAIN = "main", "Main"
        ATTENTION = "attention", "Attention check"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="trials")
    index = models.PositiveIntegerField()
    kind = models.CharField(max_length=9, choices=Kind.choices)
    size = models.PositiveIntegerField()
    # Single mode shows `variant`; pair mode shows `variant` left and `variant_right` right.
    variant = models.ForeignKey(ImageVariant, on_delete=models.PROTECT, related_name="+")
    variant_right = models.ForeignKey(
        ImageVariant, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The images again, so the database itself refuses one image twice for a participant.
    image = models.ForeignKey(Image, on_delete=models.PROTECT, related_name="trials")
    image_right = models.ForeignKey(
        Image, null=True, blank=True, on_delete=models.PROTECT, related_name="trials_right"
    )
    # An instructed-response attention check asks for this answer whatever the image is.
    expected_choice = models.CharField(max_length=5, blank=True)
    presented_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["participant_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "index"], name="one_trial_per_index"),
            models.UniqueConstraint(
                fields=["participant", "image"], name="image_once_per_participant"
            ),
            models.UniqueConstraint(
                fields=["participant", "image_right"],
                condition=Q(image_right__isnull=False),
                name="right_image_once_per_participant",
            ),
        ]

    def __str__(self) -> str:
        return f"trial {self.index} of participant {self.participant_id}"


class Response(models.Model):
    trial = models.OneToOneField(Trial, on_delete=models.CASCADE, related_name="response")
    choice = models.CharField(max_length=5)
    correct = models.BooleanField()
    confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    rt_ms = models.PositiveIntegerField(null=True, blank=True, help_text="Measured in the browser.")
    rendered_width = models.PositiveIntegerField(null=True, blank=True)
    rendered_height = models.PositiveIntegerField(null=True, blank=True)
    device_pixel_ratio = models.FloatField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                name="response_choice_valid",
                condition=Q(choice__in=["real", "fake", "left", "right"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.choice} for trial {self.trial_id}"
