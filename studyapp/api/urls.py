"""/api/v1/: the participant endpoints (open, used by the volunteer page) and the researcher
endpoints (token or staff session)."""

from django.urls import include, path

app_name = "api"

urlpatterns = [
    path("", include("studyapp.api.participant_urls")),
    path("", include("studyapp.api.researcher_urls")),
]
