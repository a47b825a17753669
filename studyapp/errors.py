"""Application errors. Each maps to one HTTP status in the API's exception handler."""


class BeholderError(Exception):
    """Base class for errors a user can act on; the message says what to do."""

    http_status = 400


class ImageRejected(BeholderError):
    """An image file that cannot be imported (corrupt, truncated, not an image, too large)."""
