"""Application errors. Each maps to one HTTP status in the API's exception handler."""


class BeholderError(Exception):
    """Base class for errors a user can act on; the message says what to do."""

    http_status = 400


class ImageRejected(BeholderError):
    """An image file that cannot be imported (corrupt, truncated, not an image, too large)."""


class ConsentRequired(BeholderError):
    """A participant cannot start without consenting."""


class StudyNotOpen(BeholderError):
    """The study is a draft or closed: it takes no new participants or answers."""

    http_status = 409


class StudyFull(BeholderError):
    """No more participants: the maximum is reached or every image has retired."""

    http_status = 409


class TrialNotFound(BeholderError):
    """No such trial for this participant (also when the trial belongs to someone else)."""

    http_status = 404


class ParticipantNotFound(BeholderError):
    http_status = 404


class ResponseConflict(BeholderError):
    """A second, different answer to an answered trial, or an answer out of order."""

    http_status = 409


class InvalidResponse(BeholderError):
    """An answer that the trial cannot take (wrong choice words, confidence out of scale)."""
