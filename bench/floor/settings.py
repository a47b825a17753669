"""The product settings with the floor app and its URLconf added; everything else unchanged."""

from studyapp.settings import *  # noqa: F403
from studyapp.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.floor"]
# The product's URLs stay as they are; the floor view is one extra pattern in front of them.
ROOT_URLCONF = "bench.floor.urls"
