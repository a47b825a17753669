"""Helpers to drive the participant API as the volunteer page does."""

import json

from django.test import Client

from studyapp.models import Trial


class Volunteer:
    """One participant going through a study over the JSON API."""

    def __init__(self, client: Client, slug: str) -> None:
        self.client = client
        self.slug = slug
        self.token: str | None = None

    def start(self, **body) -> dict:
        response = self.post(f"/api/v1/studies/{self.slug}/participants", {"consent": True, **body})
        assert response.status_code in (200, 201), response.content
        self.token = response.json()["participant"]
        return response.json()

    def next(self) -> dict:
        response = self.client.get(f"/api/v1/participants/{self.token}/next")
        assert response.status_code == 200, response.content
        return response.json()

    def answer(self, trial: str, choice: str, **extra):
        body = {"participant": self.token, "choice": choice, "rt_ms": 750, **extra}
        return self.post(f"/api/v1/trials/{trial}/response", body)

    def right_answer(self, trial: str) -> str:
        """The correct choice, read from the database (the API never tells)."""
        t = Trial.objects.select_related("image", "image_right").get(uuid=trial)
        if t.expected_choice:
            return t.expected_choice
        if t.image_right_id:
            return "left" if t.image.label == "fake" else "right"
        return t.image.label

    def post(self, url: str, body: dict):
        return self.client.post(url, json.dumps(body), content_type="application/json")

    def run_to_end(self, choose=None) -> dict:
        """Answers every trial (correctly, unless `choose(next_payload)` says otherwise)."""
        while True:
            payload = self.next()
            if payload.get("done"):
                return payload
            choice = choose(payload) if choose else self.right_answer(payload["trial"])
            response = self.answer(payload["trial"], choice)
            assert response.status_code == 201, response.content
