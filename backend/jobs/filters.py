"""The job history's filters: `?kind=`, `?status=`, `?created_by=` (a username)."""

import django_filters

from .models import Job


class JobFilter(django_filters.FilterSet):  # type: ignore[misc]
    created_by = django_filters.CharFilter(
        field_name="created_by_name", help_text="The username of who started it."
    )

    class Meta:
        model = Job
        fields = ["kind", "status", "created_by"]
