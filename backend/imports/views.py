from django.core.files.storage import default_storage
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView, RetrieveAPIView
from rest_framework.request import Request

from .models import Job
from .serializers import JobSerializer


class JobViewSet(viewsets.ReadOnlyModelViewSet[Job]):
    """Imports and bulk deletes, newest first; `?kind=import|bulk_delete`, `?status=`."""

    queryset = Job.objects.all()
    serializer_class = JobSerializer
    filterset_fields = ["kind", "status"]


class JobErrorsView(GenericAPIView[Job]):
    """The rows an import refused, as CSV: line, reason and the row's original fields."""

    queryset = Job.objects.all()

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request, *args: object, **kwargs: object) -> FileResponse:
        job = self.get_object()
        if not job.errors_file:
            raise NotFound("This job has no error report.")
        return FileResponse(
            default_storage.open(job.errors_file, "rb"),
            as_attachment=True,
            filename=f"import-{job.pk}-errors.csv",
            content_type="text/csv",
        )


class JobStatusView(RetrieveAPIView[Job]):
    """A job's state and progress (the path the first version of the API used)."""

    queryset = Job.objects.all()
    serializer_class = JobSerializer
