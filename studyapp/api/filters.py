"""Query filters of the researcher API (django-filter)."""

from django import forms
from django_filters import rest_framework as filters

from studyapp.models import Image
from studyapp.models.images import Label, Split


class _IntegerFilter(filters.NumberFilter):
    field_class = forms.IntegerField


class ImageFilter(filters.FilterSet):
    dataset = filters.CharFilter(field_name="dataset__name", help_text="Dataset name.")
    label = filters.ChoiceFilter(choices=Label.choices)
    generator = filters.CharFilter(field_name="generator__name", help_text="Generator name.")
    category = filters.CharFilter(field_name="category__name", help_text="Category name.")
    split = filters.ChoiceFilter(choices=Split.choices)
    size = _IntegerFilter(
        field_name="variants__size",
        help_text="Images that have a display variant of this size (px).",
    )
    sha256 = filters.CharFilter(help_text="Of the original file.")

    class Meta:
        model = Image
        fields = ["dataset", "label", "generator", "category", "split", "size", "sha256"]
