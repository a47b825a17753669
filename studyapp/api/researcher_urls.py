"""Researcher endpoints: studies, images, labelled sets and responses (DESIGN §3)."""

from django.urls import path

from studyapp.api.researcher import views

urlpatterns = [
    path("studies/", views.StudyViewSet.as_view({"get": "list"}), name="study-list"),
    path(
        "studies/<slug:slug>/",
        views.StudyViewSet.as_view({"get": "retrieve"}),
        name="study-detail",
    ),
    path(
        "studies/<slug:slug>/labelled-set",
        views.LabelledSetView.as_view(),
        name="study-labelled-set",
    ),
    path("studies/<slug:slug>/responses", views.ResponsesView.as_view(), name="study-responses"),
    path("images/", views.ImageViewSet.as_view({"get": "list"}), name="image-list"),
    path(
        "images/<uuid:uuid>/",
        views.ImageViewSet.as_view({"get": "retrieve"}),
        name="image-detail",
    ),
]
