"""Django admin: where researchers manage image sets, studies and detector runs."""

from studyapp.admin import detection, images, studies

__all__ = ["detection", "images", "studies"]
