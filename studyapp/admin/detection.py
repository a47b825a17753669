from django.contrib import admin
from django.http import HttpRequest

from studyapp.models import DetectorRun, Score


@admin.register(DetectorRun)
class DetectorRunAdmin(admin.ModelAdmin):
    list_display = ["name", "recipe", "status", "created", "finished_at"]
    list_filter = ["status", "recipe"]
    search_fields = ["name", "recipe"]
    readonly_fields = [
        "status",
        "progress",
        "metrics",
        "checkpoint",
        "task_id",
        "error",
        "created",
        "started_at",
        "finished_at",
    ]


@admin.register(Score)
class ScoreAdmin(admin.ModelAdmin):
    list_display = ["run", "image", "size", "p_fake"]
    list_filter = ["run", "size", "image__label", "image__generator"]
    list_select_related = ["run", "image"]
    search_fields = ["image__uuid"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Score | None = None) -> bool:
        return False
