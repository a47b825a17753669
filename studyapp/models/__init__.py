from studyapp.models.detection import DetectorRun, Score
from studyapp.models.images import Category, Dataset, Generator, Image, ImageVariant
from studyapp.models.studies import Participant, Response, Study, Trial

__all__ = [
    "Category",
    "Dataset",
    "DetectorRun",
    "Generator",
    "Image",
    "ImageVariant",
    "Participant",
    "Response",
    "Score",
    "Study",
    "Trial",
]
