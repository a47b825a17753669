from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from studyapp.admin.detection import score_studies
from studyapp.errors import BeholderError
from studyapp.models import Participant, Study
from studyapp.selectors.progress import study_progress
from studyapp.services.studies import study_set_status


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ["slug", "title", "status", "mode", "n_participants", "n_finished", "created"]
    list_filter = ["status", "mode"]
    search_fields = ["slug", "title"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["datasets", "generators", "categories", "researchers"]
    raw_id_fields = ["practice_images"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = ["volunteer_links", "progress", "created", "updated"]
    actions = ["open_studies", "close_studies", score_studies]
    fieldsets = [
        (None, {"fields": ["title", "slug", "status", "volunteer_links"]}),
        ("Live progress", {"fields": ["progress"]}),
        ("Texts (Markdown)", {"fields": ["consent_text", "instructions_text"]}),
        (
            "Image pool",
            {"fields": ["datasets", "generators", "categories", "split", "practice_images"]},
        ),
        ("Access", {"fields": ["researchers"]}),
        (
            "Design",
            {
                "fields": [
                    "mode",
                    "trials_per_participant",
                    "practice_trials",
                    "attention_checks",
                    "max_attention_failures",
                    "real_fraction",
                    "display_sizes",
                    "exposure_ms",
                    "confidence_scale",
                    "target_responses_per_image",
                    "max_participants",
                    "seed",
                ]
            },
        ),
        (
            "Completion",
            {"fields": ["completion_url", "completion_code", "excluded_completion_code"]},
        ),
        ("History", {"fields": ["created", "updated"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Study]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                _n_participants=Count("participants"),
                _n_finished=Count(
                    "participants", filter=Q(participants__finished_at__isnull=False)
                ),
            )
        )

    @admin.display(description="participants", ordering="_n_participants")
    def n_participants(self, obj: Study) -> int:
        return obj._n_participants

    @admin.display(description="finished", ordering="_n_finished")
    def n_finished(self, obj: Study) -> int:
        return obj._n_finished

    @admin.display(description="volunteer page")
    def volunteer_links(self, obj: Study) -> str:
        if not obj.pk:
            return "—"
        url = reverse("volunteer", args=[obj.slug])
        return format_html(
            '<a href="{}">{}</a> · <a href="{}?preview=1" target="_blank">'
            "preview as a volunteer</a> (answers are marked simulated)",
            url,
            url,
            url,
        )

    @admin.display(description="progress")
    def progress(self, obj: Study) -> str:
        if not obj.pk:
            return "—"
        p = study_progress(obj)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td></tr>",
            ((n, images) for n, images in p.responses_per_image),
        )
        return format_html(
            "<p>{} started · {} finished · {} excluded · {} responses · {} images in the pool</p>"
            "<table><thead><tr><th>responses</th><th>images</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            p.started,
            p.finished,
            p.excluded,
            p.responses,
            p.pool_images,
            rows,
        )

    @admin.action(description="Open to volunteers (live)")
    def open_studies(self, request: HttpRequest, queryset: QuerySet[Study]) -> None:
        self._set_status(request, queryset, Study.Status.LIVE)

    @admin.action(description="Close to volunteers")
    def close_studies(self, request: HttpRequest, queryset: QuerySet[Study]) -> None:
        self._set_status(request, queryset, Study.Status.CLOSED)

    def _set_status(self, request: HttpRequest, queryset: QuerySet[Study], status: str) -> None:
        for study in queryset:
            try:
                study_set_status(study=study, status=status)
            except BeholderError as exc:
                self.message_user(request, f"{study.slug}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{study.slug} is now {study.get_status_display()}.")


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "study",
        "started_at",
        "finished_at",
        "next_index",
        "n_trials",
        "excluded",
        "simulated",
    ]
    list_filter = ["study", "excluded", "simulated"]
    list_select_related = ["study"]
    readonly_fields = [
        "token",
        "study",
        "external_id_hash",
        "entry_params",
        "consented_at",
        "user_agent",
        "started_at",
        "finished_at",
        "n_trials",
        "next_index",
        "completion_code",
        "simulated",
    ]
    fields = [*readonly_fields, "excluded", "exclusion_reason"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
