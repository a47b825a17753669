from django.db import models


class Hit(models.Model):
    """One row per floor request: the INSERT. A plain id column, not a foreign key, because an
    app without migrations cannot depend on a migrated one."""

    participant_id = models.BigIntegerField()
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"floor hit {self.pk}"
