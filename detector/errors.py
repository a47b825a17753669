"""The detector's errors: each message names the key, line or path a caller has to fix."""


class DetectorError(Exception):
    """Base class for every error the detector reports to its caller."""


class RecipeError(DetectorError):
    """A recipe file, an override or a weights file it names is malformed or missing."""


class ManifestError(DetectorError):
    """A manifest cannot be read: bad JSON, a missing key, an unknown label, a missing file."""


class CheckpointError(DetectorError):
    """A checkpoint cannot be used: missing, not ours, or from another recipe than the run's."""
