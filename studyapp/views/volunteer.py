"""The volunteer page. It carries the study's texts and settings only: every trial arrives later
through the participant API, so nothing in this HTML depends on which images a person sees."""

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from studyapp.models import Study
from studyapp.text import render_markdown


def _content_security_policy() -> str:
    """Only the page's own script and styles run; images come from here or the media store."""
    media = urlsplit(settings.MEDIA_URL)
    image_sources = "'self'" + (f" {media.scheme}://{media.netloc}" if media.netloc else "")
    endpoint = urlsplit(getattr(settings, "AWS_S3_ENDPOINT_URL", "") or "")
    if settings.S3_BUCKET and endpoint.netloc:
        image_sources += f" {endpoint.scheme}://{endpoint.netloc}"
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {image_sources}",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


CONTENT_SECURITY_POLICY = _content_security_policy()


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
    response = render(
        request,
        "studyapp/volunteer.html",
        {
            "study": study,
            "consent_html": render_markdown(study.consent_text),
            "instructions_html": render_markdown(study.instructions_text),
            "config": config,
        },
    )
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response
