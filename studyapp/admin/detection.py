import base64
import io

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from studyapp.errors import BeholderError
from studyapp.models import Dataset, DetectorRun, Score, Study
from studyapp.services.detection import (
    detector_run_cancel,
    detector_run_create,
    recipe_names,
    study_score_enqueue,
)


class DetectorRunForm(forms.ModelForm):
    recipe = forms.ChoiceField(choices=())

    class Meta:
        model = DetectorRun
        fields = ["name", "recipe", "overrides", "training_filter"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "recipe" in self.fields:  # read-only once the run exists
            self.fields["recipe"].choices = [(name, name) for name in recipe_names()]


@admin.register(DetectorRun)
class DetectorRunAdmin(admin.ModelAdmin):
    form = DetectorRunForm
    list_display = ["name", "recipe", "status", "progress_summary", "accuracy", "created"]
    list_filter = ["status", "recipe"]
    search_fields = ["name", "recipe"]
    actions = ["cancel_runs"]
    readonly_fields = [
        "status",
        "progress_summary",
        "metrics_table",
        "loss_curve",
        "checkpoint",
        "task_id",
        "error",
        "created",
        "started_at",
        "finished_at",
    ]

    def get_fields(self, request: HttpRequest, obj: DetectorRun | None = None) -> list[str]:
        editable = ["name", "recipe", "overrides", "training_filter"]
        return editable if obj is None else [*editable, *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: DetectorRun | None = None):
        # A run's recipe and data are fixed once it exists: its results depend on them.
        if obj is None:
            return []
        return ["name", "recipe", "overrides", "training_filter", *self.readonly_fields]

    def save_model(self, request, obj: DetectorRun, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        run = detector_run_create(
            name=obj.name,
            recipe=obj.recipe,
            overrides=obj.overrides,
            training_filter=obj.training_filter,
        )
        obj.pk = run.pk
        self.message_user(request, f"Training of {run.name} is queued.")

    @admin.display(description="progress")
    def progress_summary(self, obj: DetectorRun) -> str:
        p = obj.progress
        if not p.get("epochs"):
            return "—"
        text = f"epoch {p['epoch']}/{p['epochs']}, step {p['step']}/{p['steps_per_epoch']}"
        text += f", loss {p['loss']:.3f}"
        if obj.status == DetectorRun.Status.RUNNING and p.get("eta_s") is not None:
            text += f", about {p['eta_s'] / 60:.0f} min left"
        return text

    @admin.display(description="accuracy (test split)")
    def accuracy(self, obj: DetectorRun) -> str:
        overall = [row for row in obj.metrics.get("rows", []) if row["group"] == "all"]
        return f"{overall[0]['acc']:.1%}" if overall else "—"

    @admin.display(description="metrics")
    def metrics_table(self, obj: DetectorRun) -> str:
        rows = obj.metrics.get("rows")
        if not rows:
            return obj.metrics.get("note", "—")
        columns = ["n_real", "n_fake", "acc_real", "acc_fake", "acc", "ap", "auc", "ece"]
        body = format_html_join(
            "",
            "<tr><th>{}</th>" + "<td>{}</td>" * len(columns) + "</tr>",
            ([row["group"], *(_cell(row[c]) for c in columns)] for row in rows),
        )
        head = format_html_join("", "<th>{}</th>", ([c] for c in ["generator", *columns]))
        return format_html(
            "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>"
            "<p>On the test split at {} px, threshold {}.</p>",
            head,
            body,
            obj.metrics.get("size"),
            obj.metrics.get("threshold"),
        )

    @admin.display(description="loss curve")
    def loss_curve(self, obj: DetectorRun) -> str:
        history = obj.progress.get("history", [])
        if not history:
            return "—"
        return format_html(
            '<img src="data:image/png;base64,{}" alt="training loss">', _plot(history)
        )

    @admin.action(description="Cancel the selected runs")
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[DetectorRun]) -> None:
        for run in queryset:
            detector_run_cancel(run=run)
        self.message_user(request, "Cancelled; a running run stops after its current batch.")


def _cell(value) -> str:
    if isinstance(value, float):
        return "—" if value != value else f"{value:.3f}"  # NaN where a group has one label
    return str(value)


def _plot(history: list[dict]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5, 3), dpi=100)
    axes = figure.subplots()
    epochs = [h["epoch"] for h in history]
    axes.plot(epochs, [h["loss"] for h in history], marker="o", label="training loss")
    if any(h.get("val_accuracy") is not None for h in history):
        twin = axes.twinx()
        twin.plot(epochs, [h.get("val_accuracy") for h in history], color="tab:green",
                  marker="s", label="validation accuracy")  # fmt: skip
        twin.set_ylabel("validation accuracy")
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode()


class TrainForm(forms.Form):
    name = forms.SlugField(help_text="A name for the run, unique.")
    recipe = forms.ChoiceField(choices=())

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["recipe"].choices = [(name, name) for name in recipe_names()]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if DetectorRun.objects.filter(name=name).exists():
            raise forms.ValidationError(f"A run named {name} exists already.")
        return name


class ScoreForm(forms.Form):
    run = forms.ModelChoiceField(DetectorRun.objects.filter(status=DetectorRun.Status.SUCCEEDED))


def train_on_datasets(modeladmin, request: HttpRequest, queryset: QuerySet[Dataset]):
    """Admin action on datasets: "Train a detector with recipe…"."""
    form = TrainForm(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        names = list(queryset.values_list("name", flat=True))
        run = detector_run_create(
            name=form.cleaned_data["name"],
            recipe=form.cleaned_data["recipe"],
            training_filter={"datasets": names},
        )
        modeladmin.message_user(request, f"Training of {run.name} on {', '.join(names)} is queued.")
        return None
    return _intermediate(
        modeladmin, request, queryset, form, "Train a detector on", "train_on_datasets"
    )


def score_studies(modeladmin, request: HttpRequest, queryset: QuerySet[Study]):
    """Admin action on studies: "Score with a detector run…"."""
    form = ScoreForm(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        run = form.cleaned_data["run"]
        for study in queryset:
            try:
                study_score_enqueue(run=run, study=study)
            except BeholderError as exc:
                modeladmin.message_user(request, str(exc), messages.ERROR)
                return None
        modeladmin.message_user(request, f"Scoring with {run.name} is queued.")
        return None
    return _intermediate(
        modeladmin, request, queryset, form, "Score with a detector run", "score_studies"
    )


train_on_datasets.short_description = "Train a detector with recipe…"
score_studies.short_description = "Score with a detector run…"


def _intermediate(modeladmin, request, queryset, form, title: str, action: str) -> TemplateResponse:
    return TemplateResponse(
        request,
        "admin/studyapp/action_form.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "objects": queryset,
            "form": form,
            "action": action,
            "opts": modeladmin.model._meta,
        },
    )


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
