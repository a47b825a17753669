"""Researcher views: read-only, token or staff session, never anonymous (DESIGN §3).

Studies are looked up among those the user may read (`studies_readable_by`), so another lab's
study is a 404, not a 403. Images span studies, so only staff list them. The two exports stream
rows straight from the database; their errors are JSON whatever format was asked for.
"""

from collections.abc import Iterable, Sequence

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import viewsets
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAdminUser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from studyapp.api.filters import ImageFilter
from studyapp.api.renderers import EXPORT_RENDERERS, FormatParamNegotiation, RowStreamRenderer
from studyapp.api.researcher.serializers import (
    ErrorSerializer,
    ExportQuerySerializer,
    ImageSerializer,
    LabelledSetQuerySerializer,
    LabelledSetRowSerializer,
    ResponseRowSerializer,
    StudySerializer,
    absolute_url_maker,
)
from studyapp.models import Image, Study
from studyapp.selectors.exports import (
    LABELLED_SET_FIELDS,
    RESPONSE_FIELDS,
    labelled_set_columns,
    labelled_set_flat_rows,
    labelled_set_rows,
    labelled_set_runs,
    responses_rows,
)
from studyapp.selectors.studies import studies_readable_by, studies_with_counts

_ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="No credentials, or bad ones."),
    403: OpenApiResponse(ErrorSerializer, description="Not allowed (images: staff only)."),
    404: OpenApiResponse(ErrorSerializer, description="No such resource you may read."),
}
_BAD_QUERY = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="A query parameter is invalid."),
}
_FORMAT = OpenApiParameter(
    "format",
    str,
    enum=[renderer.format for renderer in EXPORT_RENDERERS],
    default="json",
    description="json: an array of rows; jsonl: one row a line; csv: a header, then one row "
    "a line (empty cell = null).",
)


class _Pagination(CursorPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class _StudyPagination(_Pagination):
    ordering = "slug"


class _ImagePagination(_Pagination):
    ordering = "uuid"  # unique and never changes; the integer pk stays internal


@extend_schema_view(
    list=extend_schema(summary="Studies you may read", responses={200: StudySerializer, **_ERRORS}),
    retrieve=extend_schema(summary="One study", responses={200: StudySerializer, **_ERRORS}),
)
class StudyViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = StudySerializer
    pagination_class = _StudyPagination
    lookup_field = "slug"
    filter_backends: list = []

    def get_queryset(self):
        return studies_with_counts(studies_readable_by(self.request.user))


@extend_schema_view(
    list=extend_schema(
        summary="Images (staff only)",
        responses={200: ImageSerializer, **_BAD_QUERY, **_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One image (staff only)", responses={200: ImageSerializer, **_ERRORS}
    ),
)
class ImageViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ImageSerializer
    permission_classes = [IsAdminUser]
    pagination_class = _ImagePagination
    filterset_class = ImageFilter
    lookup_field = "uuid"
    queryset = Image.objects.select_related("dataset", "generator", "category").prefetch_related(
        "variants"
    )

    def get_serializer_context(self) -> dict:
        return {
            **super().get_serializer_context(),
            "absolute_url": absolute_url_maker(self.request),
        }


class _ExportView(APIView):
    renderer_classes = EXPORT_RENDERERS
    content_negotiation_class = FormatParamNegotiation

    def finalize_response(self, request: Request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response):  # an error: JSON, whichever format was asked for
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
        return response

    def _study(self, request: Request, slug: str) -> Study:
        return get_object_or_404(studies_readable_by(request.user), slug=slug)


def _streamed(
    renderer: RowStreamRenderer, rows: Iterable[dict], columns: Sequence[str], filename: str
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        renderer.stream(rows, columns), content_type=f"{renderer.media_type}; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.{renderer.extension}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _export_responses(row_serializer) -> dict:
    return {
        (200, "application/json"): row_serializer(many=True),
        (200, "application/x-ndjson"): OpenApiTypes.STR,
        (200, "text/csv"): OpenApiTypes.STR,
        **_BAD_QUERY,
        **_ERRORS,
    }


class LabelledSetView(_ExportView):
    @extend_schema(
        summary="A study's labelled set, streamed",
        description="One row per image of the study's pool × display size: the image's label, "
        "generator, category and native facts, its human votes (main trials of participants "
        "who are not excluded) and one score per detector run. CSV spreads `scores` into "
        "`score_<run>` columns. A JSONL export is a manifest for `import_images` "
        "(via `url`) and `python -m detector`.",
        parameters=[LabelledSetQuerySerializer, _FORMAT],
        responses=_export_responses(LabelledSetRowSerializer),
    )
    def get(self, request: Request, slug: str) -> StreamingHttpResponse:
        query = LabelledSetQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        study = self._study(request, slug)
        size = query.validated_data.get("size")
        rows = labelled_set_rows(
            study,
            include_simulated=query.validated_data["include_simulated"],
            size=size,
            url=absolute_url_maker(request),
        )
        renderer = request.accepted_renderer
        columns: Sequence[str] = LABELLED_SET_FIELDS
        if renderer.format == "csv":
            columns = labelled_set_columns(labelled_set_runs(study, size=size))
            rows = labelled_set_flat_rows(rows)
        return _streamed(renderer, rows, columns, f"{study.slug}-labelled-set")


class ResponsesView(_ExportView):
    @extend_schema(
        summary="A study's responses, streamed",
        description="One row per answered trial of every kind, participant by participant. "
        "Participants are pseudonymous; excluded ones are flagged, simulated ones left out "
        "unless include_simulated.",
        parameters=[ExportQuerySerializer, _FORMAT],
        responses=_export_responses(ResponseRowSerializer),
    )
    def get(self, request: Request, slug: str) -> StreamingHttpResponse:
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        study = self._study(request, slug)
        rows = responses_rows(study, include_simulated=query.validated_data["include_simulated"])
        return _streamed(
            request.accepted_renderer, rows, RESPONSE_FIELDS, f"{study.slug}-responses"
        )
