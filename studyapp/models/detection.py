"""Detector runs (training, then scoring) and the per-image scores they produce."""

from django.db import models

from studyapp.models.images import Image


class DetectorRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    name = models.SlugField(max_length=100, unique=True)
    recipe = models.CharField(
        max_length=200, help_text="A recipe in experiments/, e.g. tiny_cpu.toml."
    )
    overrides = models.JSONField(default=dict, blank=True)
    training_filter = models.JSONField(
        default=dict,
        blank=True,
        help_text="Which images to train on (dataset, split, generators…).",
    )
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.QUEUED)
    progress = models.JSONField(default=dict, blank=True, help_text="epoch, step, loss, eta_s")
    metrics = models.JSONField(default=dict, blank=True)
    checkpoint = models.FileField(upload_to="checkpoints/", max_length=300, blank=True)
    task_id = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.name


class Score(models.Model):
    run = models.ForeignKey(DetectorRun, on_delete=models.CASCADE, related_name="scores")
    image = models.ForeignKey(Image, on_delete=models.PROTECT, related_name="scores")
    size = models.PositiveIntegerField(help_text="Display size of the variant scored.")
    p_fake = models.FloatField(help_text="Probability that the image is generated.")
    class_probs = models.JSONField(null=True, blank=True, help_text="Per class, for N-way runs.")

    class Meta:
        ordering = ["run_id", "image_id", "size"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "image", "size"], name="one_score_per_run_image_size"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}: {self.image_id} @ {self.size}px = {self.p_fake:.3f}"
