"""The volunteer page. It carries the study's texts and settings only: every trial arrives later
through the participant API, so nothing in this HTML depends on which images a person sees."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from studyapp.models import Study
from studyapp.text import render_markdown


@require_GET
@ensure_csrf_cookie  # a staff preview posts with its session, which DRF checks for CSRF
def volunteer_page(request: HttpRequest, slug: str) -> HttpResponse:
    study = get_object_or_404(Study, slug=slug)
    preview = request.GET.get("preview") == "1" and request.user.is_staff
    if study.status != Study.Status.LIVE and not preview:
        return render(request, "studyapp/not_open.html", {"study": study}, status=409)
    config = {
        "slug": study.slug,
        "mode": study.mode,
        "confidenceScale": study.confidence_scale,
        "preview": preview,
        "startUrl": reverse("api:participant-start", args=[study.slug]),
        "nextUrl": reverse("api:participant-next", args=["00000000-0000-0000-0000-000000000000"]),
        "responseUrl": reverse("api:trial-response", args=["00000000-0000-0000-0000-000000000000"]),
    }
    return render(
        request,
        "studyapp/volunteer.html",
        {
            "study": study,
            "consent_html": render_markdown(study.consent_text),
            "instructions_html": render_markdown(study.instructions_text),
            "config": config,
        },
    )
