from typing import Any

from django.core.files.storage import default_storage
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from . import services
from .models import Job
from .serializers import JobSerializer


class LiveJobsMixin(GenericAPIView[Job]):
    """Jobs as they are: a job whose worker died is failed before an authenticated read."""

    queryset = Job.objects.all()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        services.fail_dead_jobs()


class JobViewSet(LiveJobsMixin, viewsets.ReadOnlyModelViewSet[Job]):
    """Imports and bulk deletes, newest first; `?kind=import|bulk_delete`, `?status=`."""

    serializer_class = JobSerializer
    filterset_fields = ["kind", "status"]

    @extend_schema(request=None, responses={202: JobSerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        """Queue a FAILED import again from its stored file (409 for any other job)."""
        job = services.retry_import_job(job=self.get_object())
        return Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)


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


class JobStatusView(LiveJobsMixin, RetrieveAPIView[Job]):
    """A job's state and progress (the path the first version of the API used)."""

    serializer_class = JobSerializer
