from django.contrib import admin
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from studyapp.admin.detection import train_on_datasets
from studyapp.models import Category, Dataset, Generator, Image, ImageVariant


def variant_thumbnail(image: Image, height: int = 64) -> str:
    """The smallest variant as an <img>; expects `variants` prefetched."""
    variants = sorted(image.variants.all(), key=lambda v: v.size)
    if not variants:
        return "—"
    return format_html('<img src="{}" alt="" style="height:{}px">', variants[0].file.url, height)


class _LabelCounts(admin.ModelAdmin):
    """Real and generated image counts as sortable columns, counted in the list's one query."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(
                _n_images=Count("images"),
                _n_real=Count("images", filter=Q(images__label="real")),
                _n_fake=Count("images", filter=Q(images__label="fake")),
            )
        )

    @admin.display(description="images", ordering="_n_images")
    def n_images(self, obj) -> int:
        return obj._n_images

    @admin.display(description="real", ordering="_n_real")
    def n_real(self, obj) -> int:
        return obj._n_real

    @admin.display(description="generated", ordering="_n_fake")
    def n_fake(self, obj) -> int:
        return obj._n_fake


@admin.register(Dataset)
class DatasetAdmin(_LabelCounts):
    list_display = ["name", "source", "licence", "n_images", "n_real", "n_fake", "created"]
    actions = [train_on_datasets]
    search_fields = ["name", "source", "notes"]
    readonly_fields = ["created"]


@admin.register(Generator)
class GeneratorAdmin(_LabelCounts):
    list_display = ["name", "family", "version", "n_images"]
    list_filter = ["family"]
    search_fields = ["name", "version"]


@admin.register(Category)
class CategoryAdmin(_LabelCounts):
    list_display = ["name", "n_real", "n_fake"]
    search_fields = ["name"]


class ImageVariantInline(admin.TabularInline):
    model = ImageVariant
    extra = 0
    can_delete = False
    fields = ["size", "preview", "width", "height", "bytes", "file"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Image | None = None) -> bool:
        return False

    @admin.display(description="preview")
    def preview(self, obj: ImageVariant) -> str:
        return format_html('<img src="{}" alt="" style="max-height:128px">', obj.file.url)


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = [
        "thumbnail",
        "uuid",
        "dataset",
        "label",
        "generator",
        "category",
        "split",
        "native_size",
        "format",
        "n_responses",
        "attention_check",
    ]
    list_filter = [
        "dataset",
        "label",
        "generator",
        "category",
        "split",
        "format",
        "attention_check",
    ]
    list_select_related = ["dataset", "generator", "category"]
    search_fields = ["uuid", "sha256", "source_path", "prompt"]
    list_per_page = 50
    actions = ["mark_attention_check", "unmark_attention_check"]
    inlines = [ImageVariantInline]
    readonly_fields = [
        "uuid",
        "sha256",
        "original",
        "width",
        "height",
        "format",
        "bytes",
        "source_path",
        "created",
        "n_responses",
        "thumbnail",
    ]
    fields = [
        "thumbnail",
        "uuid",
        "dataset",
        "label",
        "generator",
        "category",
        "split",
        "attention_check",
        "prompt",
        "metadata",
        "original",
        "sha256",
        "width",
        "height",
        "format",
        "bytes",
        "source_path",
        "n_responses",
        "created",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Image]:
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("variants", queryset=ImageVariant.objects.order_by("size")))
            .annotate(
                _n_responses=Count("trials__response", distinct=True)
                + Count("trials_right__response", distinct=True)
            )
        )

    @admin.display(description="preview")
    def thumbnail(self, obj: Image) -> str:
        return variant_thumbnail(obj)

    @admin.display(description="native size")
    def native_size(self, obj: Image) -> str:
        return f"{obj.width}×{obj.height}"

    @admin.display(description="responses", ordering="_n_responses")
    def n_responses(self, obj: Image) -> int:
        return obj._n_responses

    @admin.action(description="Reserve for attention checks")
    def mark_attention_check(self, request: HttpRequest, queryset: QuerySet[Image]) -> None:
        queryset.update(attention_check=True)

    @admin.action(description="Release from attention checks")
    def unmark_attention_check(self, request: HttpRequest, queryset: QuerySet[Image]) -> None:
        queryset.update(attention_check=False)
