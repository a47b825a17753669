"""/api/v1/: the participant endpoints (open, used by the volunteer page) and the researcher
endpoints (token or staff session)."""

app_name = "api"

urlpatterns: list = []
