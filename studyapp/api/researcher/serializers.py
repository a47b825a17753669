"""Serializers of the researcher API: resources, query parameters, and the export rows (which
the views stream without them; here they document the rows in the OpenAPI schema)."""

from collections.abc import Callable

from django.urls import reverse
from rest_framework import serializers
from rest_framework.request import Request

from studyapp.models import Image, ImageVariant, Study, Trial
from studyapp.models.images import Label, Split
from studyapp.selectors.exports import storage_url_maker

MAX_INT = 2**31 - 1


def absolute_url_maker(request: Request) -> Callable[[str], str]:
    """Turns storage names into absolute URLs for this request's host (object storage already
    gives absolute ones)."""
    origin = request.build_absolute_uri("/")[:-1]
    stored_url = storage_url_maker()

    def absolute_url(name: str) -> str:
        url = stored_url(name)
        return origin + url if url.startswith("/") else request.build_absolute_uri(url)

    return absolute_url


class _BlankAsNullChoiceField(serializers.ChoiceField):
    """A choice that the model stores as "" when unset; the API says null."""

    def __init__(self, **kwargs) -> None:
        super().__init__(allow_null=True, read_only=True, **kwargs)

    def to_representation(self, value: str) -> str | None:
        return value or None


class VariantSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = ImageVariant
        fields = ["size", "url", "width", "height", "bytes"]

    def get_url(self, variant: ImageVariant) -> str:
        return self.context["absolute_url"](variant.file.name)


class ImageSerializer(serializers.ModelSerializer):
    dataset = serializers.SlugRelatedField(slug_field="name", read_only=True)
    generator = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    category = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    split = _BlankAsNullChoiceField(choices=Split.choices)
    variants = VariantSerializer(many=True, read_only=True)

    class Meta:
        model = Image
        fields = [
            "uuid",
            "dataset",
            "label",
            "generator",
            "category",
            "split",
            "sha256",
            "width",
            "height",
            "format",
            "bytes",
            "prompt",
            "source_path",
            "metadata",
            "attention_check",
            "created",
            "variants",
        ]
        read_only_fields = fields


class StudySerializer(serializers.ModelSerializer):
    datasets = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    generators = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    categories = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    split = _BlankAsNullChoiceField(choices=Split.choices)
    display_sizes = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    n_participants = serializers.IntegerField(
        read_only=True, help_text="Participants, simulated ones left out."
    )
    n_responses = serializers.IntegerField(
        read_only=True, help_text="Responses of those participants, every trial kind."
    )
    labelled_set = serializers.SerializerMethodField()
    responses = serializers.SerializerMethodField()

    class Meta:
        model = Study
        fields = [
            "slug",
            "title",
            "status",
            "mode",
            "datasets",
            "generators",
            "categories",
            "split",
            "display_sizes",
            "trials_per_participant",
            "practice_trials",
            "attention_checks",
            "max_attention_failures",
            "real_fraction",
            "exposure_ms",
            "confidence_scale",
            "target_responses_per_image",
            "max_participants",
            "seed",
            "created",
            "updated",
            "n_participants",
            "n_responses",
            "labelled_set",
            "responses",
        ]
        read_only_fields = fields

    def get_labelled_set(self, study: Study) -> str:
        return self._link("api:study-labelled-set", study)

    def get_responses(self, study: Study) -> str:
        return self._link("api:study-responses", study)

    def _link(self, name: str, study: Study) -> str:
        return self.context["request"].build_absolute_uri(reverse(name, args=[study.slug]))


class ExportQuerySerializer(serializers.Serializer):
    include_simulated = serializers.BooleanField(
        default=False, help_text="Count simulated participants (load tests, previews) too."
    )


class LabelledSetQuerySerializer(ExportQuerySerializer):
    size = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_INT,
        help_text="Only this display size (px); all of the study's sizes by default.",
    )


class LabelledSetRowSerializer(serializers.Serializer):
    """One image × display size of the study's pool (see studyapp.selectors.exports)."""

    image = serializers.UUIDField(help_text="The image's public id.")
    url = serializers.CharField(help_text="Absolute URL of the display variant at this size.")
    sha256 = serializers.CharField(help_text="Of the original file.")
    label = serializers.ChoiceField(choices=Label.choices)
    generator = serializers.CharField(allow_null=True, help_text="Null for real images.")
    category = serializers.CharField(allow_null=True)
    split = serializers.ChoiceField(choices=Split.choices, allow_null=True)
    size = serializers.IntegerField(help_text="Display size (px, long side).")
    width = serializers.IntegerField(help_text="The original's width (px).")
    height = serializers.IntegerField(help_text="The original's height (px).")
    format = serializers.CharField(help_text="The original's format, as Pillow names it.")
    bytes = serializers.IntegerField(help_text="The original's byte size.")
    retired = serializers.BooleanField(
        help_text="The study's target responses per image is reached (main-trial assignments, "
        "any size)."
    )
    n_responses = serializers.IntegerField(
        help_text="Main-trial responses at this size from participants not excluded (nor "
        "simulated, unless include_simulated)."
    )
    n_fake_votes = serializers.IntegerField(help_text="Of those, votes for 'generated'.")
    human_p_fake = serializers.FloatField(allow_null=True, min_value=0, max_value=1)
    human_majority = serializers.ChoiceField(choices=["real", "fake", "tie"], allow_null=True)
    human_accuracy = serializers.FloatField(allow_null=True, min_value=0, max_value=1)
    mean_confidence = serializers.FloatField(allow_null=True)
    scores = serializers.DictField(
        child=serializers.FloatField(min_value=0, max_value=1),
        help_text="p_fake by detector run name; CSV: one score_<run> column per run.",
    )


class ResponseRowSerializer(serializers.Serializer):
    """One answered trial (see studyapp.selectors.exports)."""

    participant = serializers.CharField(help_text="Pseudonym: a keyed hash, not the token.")
    trial = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=Trial.Kind.choices)
    image = serializers.UUIDField(help_text="The image (the left one in pair mode).")
    image_right = serializers.UUIDField(allow_null=True, help_text="Pair mode only.")
    size = serializers.IntegerField()
    choice = serializers.ChoiceField(choices=["real", "fake", "left", "right"])
    confidence = serializers.IntegerField(allow_null=True, help_text="1..k, higher = surer.")
    correct = serializers.BooleanField()
    rt_ms = serializers.IntegerField(allow_null=True)
    rendered_width = serializers.IntegerField(allow_null=True)
    rendered_height = serializers.IntegerField(allow_null=True)
    device_pixel_ratio = serializers.FloatField(allow_null=True)
    excluded = serializers.BooleanField()
    exclusion_reason = serializers.CharField(allow_blank=True)
    simulated = serializers.BooleanField()
    created = serializers.DateTimeField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
