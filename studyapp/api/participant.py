"""The participant endpoints (DESIGN §3): open to anyone holding a participant token, and
exposing nothing but that participant's own trials. The volunteer page uses them; so can
scripts and load tests."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from studyapp.models import Study
from studyapp.services.participants import participant_start
from studyapp.services.trials import Answer, response_record, trial_next_for

_ENTRY_PARAMS = ("study_id", "session_id")


class _ParticipantView(APIView):
    authentication_classes: list = []  # the participant token in the request is the credential
    permission_classes = [AllowAny]
    # JSON only: the trial loop is the hottest path, and negotiating among renderers costs time.
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]


class StartSerializer(serializers.Serializer):
    consent = serializers.BooleanField(required=True)
    external_id = serializers.CharField(required=False, allow_blank=True, max_length=200)
    study_id = serializers.CharField(required=False, allow_blank=True, max_length=200)
    session_id = serializers.CharField(required=False, allow_blank=True, max_length=200)


class StartedSerializer(serializers.Serializer):
    participant = serializers.UUIDField()
    n_trials = serializers.IntegerField()


class AnswerSerializer(serializers.Serializer):
    participant = serializers.UUIDField()
    choice = serializers.CharField(max_length=5)
    confidence = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=9)
    rt_ms = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=86_400_000
    )
    rendered_width = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=100_000
    )
    rendered_height = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=100_000
    )
    device_pixel_ratio = serializers.FloatField(
        required=False, allow_null=True, min_value=0, max_value=100
    )


# Built once: a new serializer deep-copies its fields, a third of the cost of an answer's request.
# run_validation keeps no state on the instance, so one instance serves every request and thread.
_ANSWER_VALIDATOR = AnswerSerializer()

_Next = inline_serializer(
    "NextTrial",
    {
        "trial": serializers.UUIDField(required=False),
        "index": serializers.IntegerField(required=False),
        "of": serializers.IntegerField(required=False),
        "kind": serializers.ChoiceField(["practice", "main", "attention"], required=False),
        "mode": serializers.ChoiceField(["single", "pair"], required=False),
        "images": inline_serializer(
            "TrialImage", {"url": serializers.CharField()}, many=True, required=False
        ),
        "exposure_ms": serializers.IntegerField(allow_null=True, required=False),
        "size": serializers.IntegerField(required=False),
        "confidence_scale": serializers.IntegerField(allow_null=True, required=False),
        "instruction": serializers.CharField(required=False),
        "done": serializers.BooleanField(required=False),
        "completion_code": serializers.CharField(required=False),
        "redirect_url": serializers.CharField(allow_null=True, required=False),
        "score": inline_serializer(
            "OwnScore",
            {"correct": serializers.IntegerField(), "of": serializers.IntegerField()},
            required=False,
        ),
    },
)
_Recorded = inline_serializer(
    "Recorded",
    {
        "trial": serializers.UUIDField(),
        "feedback": inline_serializer(
            "Feedback", {"correct": serializers.BooleanField()}, allow_null=True
        ),
    },
)


_Error = inline_serializer("ParticipantError", {"detail": serializers.CharField()})
_INVALID = OpenApiResponse(description="Invalid request: the body names each bad field.")


class ParticipantStartView(_ParticipantView):
    # A staff session may start a preview participant; anonymous volunteers need no session.
    authentication_classes = [SessionAuthentication]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "participant_start"

    @extend_schema(
        request=StartSerializer,
        responses={
            201: StartedSerializer,
            200: OpenApiResponse(StartedSerializer, description="A known external id resumes."),
            400: _INVALID,
            404: OpenApiResponse(_Error, description="No such study."),
            409: OpenApiResponse(_Error, description="The study is not open, or full."),
            429: OpenApiResponse(_Error, description="Too many starts: try again later."),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        study = get_object_or_404(Study, slug=slug)
        data = _valid(StartSerializer, request)
        participant, created = participant_start(
            study=study,
            consent=data["consent"],
            external_id=data.get("external_id", ""),
            entry_params={key: data[key] for key in _ENTRY_PARAMS if data.get(key)},
            user_agent=request.headers.get("User-Agent", ""),
            preview=request.query_params.get("preview") == "1" and request.user.is_staff,
        )
        return Response(
            {"participant": str(participant.token), "n_trials": participant.n_trials},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class NextTrialView(_ParticipantView):
    @extend_schema(
        responses={
            200: _Next,
            404: OpenApiResponse(_Error, description="No such participant."),
            409: OpenApiResponse(_Error, description="The study has closed."),
        }
    )
    def get(self, request: Request, token: str) -> Response:
        return Response(trial_next_for(token=token))


class ResponseView(_ParticipantView):
    @extend_schema(
        request=AnswerSerializer,
        responses={
            201: _Recorded,
            200: OpenApiResponse(_Recorded, description="The same answer again: nothing changes."),
            400: _INVALID,
            404: OpenApiResponse(_Error, description="No such trial for this participant."),
            409: OpenApiResponse(
                _Error, description="Answered differently before, out of order, or study closed."
            ),
        },
    )
    def post(self, request: Request, trial: str) -> Response:
        data = _ANSWER_VALIDATOR.run_validation(request.data)
        token = data.pop("participant")
        recorded = response_record(trial_uuid=trial, token=token, answer=Answer(**data))
        return Response(
            {"trial": trial, "feedback": recorded.feedback},
            status=status.HTTP_201_CREATED if recorded.created else status.HTTP_200_OK,
        )


def _valid(serializer_class: type[serializers.Serializer], request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
