"""Participant endpoints: consent, next trial, response (DESIGN §3)."""

from django.urls import path

from studyapp.api import participant

urlpatterns = [
    path(
        "studies/<slug:slug>/participants",
        participant.ParticipantStartView.as_view(),
        name="participant-start",
    ),
    path(
        "participants/<uuid:token>/next",
        participant.NextTrialView.as_view(),
        name="participant-next",
    ),
    path("trials/<uuid:trial>/response", participant.ResponseView.as_view(), name="trial-response"),
]
