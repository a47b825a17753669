"""Serves display variants from local storage, with nothing in the headers that could hint at
the image's origin (no Last-Modified, no original name)."""

import re

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_GET

_VARIANT_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp)$")
_CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


@require_GET
def variant_file(request: HttpRequest, name: str) -> FileResponse:
    if not _VARIANT_NAME.match(name):
        raise Http404
    path = f"v/{name}"
    try:
        handle = default_storage.open(path, "rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=_CONTENT_TYPES[name.rsplit(".", 1)[1]])
    del response["Content-Disposition"]  # the URL already names the file; say nothing more
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
