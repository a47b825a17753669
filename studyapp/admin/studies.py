from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest

from studyapp.models import Participant, Study


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ["slug", "title", "status", "mode", "n_participants", "n_finished", "created"]
    list_filter = ["status", "mode"]
    search_fields = ["slug", "title"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["datasets", "generators", "categories"]
    readonly_fields = ["created", "updated"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "status"]}),
        ("Texts (Markdown)", {"fields": ["consent_text", "instructions_text"]}),
        ("Image pool", {"fields": ["datasets", "generators", "categories", "split"]}),
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
