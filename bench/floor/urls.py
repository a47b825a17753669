"""The floor view in front of the product's URLconf."""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from bench.floor.models import Hit
from studyapp.models import Participant


def floor(request: HttpRequest, token: str) -> JsonResponse:
    """One indexed SELECT (the participant by token, as the trial loop looks it up) and one
    INSERT, in autocommit: the least a request that reads and writes can cost on this stack."""
    participant = Participant.objects.get(token=token)
    Hit.objects.create(participant_id=participant.pk)
    return JsonResponse({"participant": str(participant.token)})


urlpatterns = [
    path("bench/floor/<uuid:token>", floor, name="bench-floor"),
    path("", include("studyapp.urls")),
]
