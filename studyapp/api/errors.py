"""One place that turns application errors into HTTP responses."""

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from studyapp.errors import BeholderError


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, BeholderError):
        return Response({"detail": str(exc), "code": type(exc).__name__}, status=exc.http_status)
    return drf_exception_handler(exc, context)
