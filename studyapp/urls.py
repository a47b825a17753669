from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from studyapp.views import media as media_views
from studyapp.views.volunteer import volunteer_page

urlpatterns = [
    path("s/<slug:slug>/", volunteer_page, name="volunteer"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("studyapp.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

if not settings.S3_BUCKET:
    # With local files the app serves display variants itself (object storage serves them in
    # production). Only variants are public: originals keep their metadata and stay private.
    urlpatterns += [
        path(
            f"{settings.MEDIA_URL.strip('/')}/v/<str:name>",
            media_views.variant_file,
            name="variant-file",
        ),
    ]
