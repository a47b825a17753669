"""One place that turns application errors into HTTP responses."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from studyapp.errors import BeholderError

RETRY_AFTER_S = 2


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, BeholderError):
        return Response({"detail": str(exc), "code": type(exc).__name__}, status=exc.http_status)
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        detail = f"The request body is over the limit of {limit:,} bytes."
        return Response({"detail": detail, "code": "TooLarge"}, status=413)
    if isinstance(exc, OperationalError | InterfaceError):
        # The database is restarting or unreachable: nothing was stored, and every participant
        # request is safe to repeat, so tell the client to try again shortly.
        return Response(
            {"detail": "The service is briefly unavailable; please try again.", "code": "Retry"},
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    return drf_exception_handler(exc, context)
