"""The job endpoints: the two that create jobs (the seed's upload and bulk delete, under
/api/products/), the job history with retry, a job's status, and an import's error report."""

from typing import Any

from django.core.files.storage import default_storage
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView, RetrieveAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from core.permissions import Rule, signed_in_user
from core.schema import QUEUE_UNAVAILABLE, error_response
from core.throttling import JobsThrottle

from . import lifecycle, services
from .models import Job
from .serializers import JobSerializer, UploadSerializer

# Anyone with a role reads every job's state; a job's files hold rows of someone's upload, so
# only its creator and admins download them. Acting on a job: an editor on its own, an admin on any.
READ_JOBS = Rule("imports.view_job", "read jobs")
READ_FILES = Rule(
    "imports.view_any_job_files",
    "download jobs' error reports",
    own_permission="imports.view_job",
    own_verb="download this job's error report",
)
# Starting a job counts against the user's rate of jobs, besides its rate of requests.
JOB_THROTTLES: list[type[BaseThrottle]] = [JobsThrottle, *APIView.throttle_classes]


class LiveJobsMixin(GenericAPIView[Job]):
    """Jobs as they are: a job whose worker died is failed before an authenticated read."""

    queryset = Job.objects.all()
    owner_field = "created_by_id"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        lifecycle.fail_dead_jobs()


class JobViewSet(LiveJobsMixin, viewsets.ReadOnlyModelViewSet[Job]):
    """Imports and bulk deletes, newest first; `?kind=import|bulk_delete`, `?status=`."""

    serializer_class = JobSerializer
    filterset_fields = ["kind", "status"]
    required_permissions = {
        "list": READ_JOBS,
        "retrieve": READ_JOBS,
        # Cancel, apply and revert, when they come, take the same two permissions.
        "retry": Rule(
            "imports.act_on_any_job",
            "retry jobs",
            own_permission="imports.act_on_own_job",
            own_verb="retry this job",
        ),
    }

    @extend_schema(
        request=None,
        responses={
            202: JobSerializer,
            409: error_response("Not a failed import, or its file is no longer stored."),
            503: QUEUE_UNAVAILABLE,
        },
    )
    @action(detail=True, methods=["post"], throttle_classes=JOB_THROTTLES)
    def retry(self, request: Request, pk: str | None = None) -> Response:
        """Queue a FAILED import again from its stored file (409 for any other job)."""
        job = services.retry_import_job(job=self.get_object())
        return Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)


class JobErrorsView(GenericAPIView[Job]):
    """The rows an import refused, as CSV: line, reason and the row's original fields.

    For the job's creator and admins only: the rows are data from someone's file.
    """

    queryset = Job.objects.all()
    owner_field = "created_by_id"
    required_permissions = {"get": READ_FILES}

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
    required_permissions = {"get": READ_JOBS}


class UploadView(GenericAPIView[Any]):
    """Upload a catalog (.csv or .csv.gz, multipart field `file`): 202 with the import job.

    SKUs are matched in any letter case; later rows and later imports overwrite earlier ones.
    """

    parser_classes = [MultiPartParser]
    serializer_class = UploadSerializer
    required_permissions = {"post": Rule("imports.import_products", "import")}
    throttle_classes = JOB_THROTTLES

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
        responses={202: JobSerializer, 503: QUEUE_UNAVAILABLE},
    )
    def post(self, request: Request) -> Response:
        services.check_upload_size(int(request.META.get("CONTENT_LENGTH") or 0))
        job = services.create_import_job(
            upload=request.FILES.get("file"), created_by=signed_in_user(request)
        )
        return Response(JobSerializer(job, context={"request": request}).data, status=202)


class BulkDeleteView(GenericAPIView[Job]):
    """Delete every product, asynchronously: 202 with the job to follow."""

    serializer_class = JobSerializer
    required_permissions = {"post": Rule("imports.delete_all_products", "delete all products")}
    throttle_classes = JOB_THROTTLES

    @extend_schema(request=None, responses={202: JobSerializer, 503: QUEUE_UNAVAILABLE})
    def post(self, request: Request) -> Response:
        job = services.create_bulk_delete_job(created_by=signed_in_user(request))
        return Response(JobSerializer(job, context={"request": request}).data, status=202)
