"""Researcher endpoints: studies, images, labelled sets and responses (DESIGN §3)."""

urlpatterns: list = []
