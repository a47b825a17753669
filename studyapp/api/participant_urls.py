"""Participant endpoints: consent, next trial, response (DESIGN §3)."""

urlpatterns: list = []
