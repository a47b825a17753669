"""Which studies a user may read, with the counts the API lists them with."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from studyapp.models import Response, Study


def studies_readable_by(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Study]:
    """Staff read every study; any other user only the studies that list them as researchers.

    Callers look studies up in this queryset, so a study someone may not read is simply not
    found (its existence is not revealed).
    """
    if not user.is_authenticated or not user.is_active:
        return Study.objects.none()
    if user.is_staff:
        return Study.objects.all()
    return Study.objects.filter(researchers=user)


def studies_with_counts(studies: QuerySet[Study]) -> QuerySet[Study]:
    """Adds `n_participants` and `n_responses` (simulated participants left out) and fetches the
    pool's datasets, generators and categories in three more queries."""
    responses = (
        Response.objects.filter(
            trial__participant__study=OuterRef("pk"), trial__participant__simulated=False
        )
        .order_by()
        .values("trial__participant__study")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return studies.annotate(
        n_participants=Count("participants", filter=Q(participants__simulated=False)),
        n_responses=Coalesce(Subquery(responses, output_field=IntegerField()), Value(0)),
    ).prefetch_related("datasets", "generators", "categories")
