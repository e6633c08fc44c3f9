"""The job endpoints: the two that create jobs (the seed's upload and bulk delete, under
/api/products/), the job history with retry, a job's status, and an import's error report."""

from typing import Any

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
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
from .changes import TEMPLATE_CSV, ChangesPagination, changes_csv
from .filters import JobFilter
from .models import ImportProfile, Job
from .options import ImportOptionsSerializer, RetryOptionsSerializer
from .serializers import (
    ImportProfileSerializer,
    JobChangeSerializer,
    JobChangesPageSerializer,
    JobSerializer,
    RevertSerializer,
    UploadSerializer,
)
from .undo import undo_kept

# Anyone with a role reads every job's state; a job's files hold rows of someone's upload, so
# only its creator and admins download them. Acting on a job: an editor on its own, an admin on any.
READ_JOBS = Rule("imports.view_job", "read jobs")
READ_FILES = Rule(
    "imports.view_any_job_files",
    "download jobs' error reports",
    own_permission="imports.view_job",
    own_verb="download this job's error report",
)
PREVIEW_EXPIRED = error_response("The preview expired (PREVIEW_KEEP_HOURS).")
# Starting a job counts against the user's rate of jobs, besides its rate of requests.
JOB_THROTTLES: list[type[BaseThrottle]] = [JobsThrottle, *APIView.throttle_classes]


class LiveJobsMixin(GenericAPIView[Job]):
    """Jobs as they are: a job whose worker died is failed before an authenticated read."""

    queryset = Job.objects.all()
    owner_field = "created_by_id"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        lifecycle.fail_dead_jobs()


def act_on_job(verb: str) -> Rule:
    """An admin acts on any job, an editor on the jobs it started."""
    return Rule(
        "imports.act_on_any_job",
        f"{verb} jobs",
        own_permission="imports.act_on_own_job",
        own_verb=f"{verb} this job",
    )


class JobViewSet(LiveJobsMixin, viewsets.ReadOnlyModelViewSet[Job]):
    """Every job, newest first, in pages; `?kind=import|bulk_delete|revert`, `?status=`,
    `?created_by=` (a username)."""

    serializer_class = JobSerializer
    filterset_class = JobFilter
    required_permissions = {
        "list": READ_JOBS,
        "retrieve": READ_JOBS,
        "retry": act_on_job("retry"),
        "cancel": act_on_job("cancel"),
        "revert": act_on_job("revert"),
        "apply": Rule(
            "imports.act_on_any_job",
            "apply previews",
            own_permission="imports.act_on_own_job",
            own_verb="apply this preview",
        ),
        "changes": READ_FILES,
    }

    @extend_schema(
        request=RetryOptionsSerializer,
        responses={
            202: JobSerializer,
            409: error_response("Not failed or cancelled, or its file is no longer stored."),
            503: QUEUE_UNAVAILABLE,
        },
    )
    @action(detail=True, methods=["post"], throttle_classes=JOB_THROTTLES)
    def retry(self, request: Request, pk: str | None = None) -> Response:
        """Queue a FAILED or CANCELLED job again (an import from its stored file; 409 for any
        other job); an import's body may change its options (`mapping`, `on_error`,
        `update_existing`, `profile`)."""
        job = self.get_object()
        given = RetryOptionsSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        options = given.applied(base=job.options) if given.validated_data else None
        job = services.retry_job(job=job, options=options)
        return Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={
            202: JobSerializer,
            409: error_response("The job had ended, or completed before the cancel took effect."),
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel a PENDING or PROCESSING job: its work is rolled back, the catalog left as it
        was, its file kept for a retry. Answers once the job is CANCELLED, or after 2.5 s with
        the job still PROCESSING and `cancel_requested` (it ends CANCELLED soon after)."""
        job = services.cancel_job(job=self.get_object())
        return Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=RevertSerializer,
        responses={
            202: JobSerializer,
            409: error_response("Not a completed import or bulk delete, or reverted already."),
            410: error_response("Its before-images are no longer kept (UNDO_KEEP_DAYS)."),
            503: QUEUE_UNAVAILABLE,
        },
    )
    @action(detail=True, methods=["post"], throttle_classes=JOB_THROTTLES)
    def revert(self, request: Request, pk: str | None = None) -> Response:
        """Put the catalog back as it was before a completed import or bulk delete: answers the
        new job of kind `revert`. Products changed since are left as they are (conflicts),
        unless `force` is true."""
        job = self.get_object()
        given = RevertSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        revert = services.revert_job(
            job=job, force=given.validated_data["force"], created_by=signed_in_user(request)
        )
        return Response(self.get_serializer(revert).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={
            202: JobSerializer,
            409: error_response("Not a completed dry run, or applied already."),
            410: PREVIEW_EXPIRED,
            503: QUEUE_UNAVAILABLE,
        },
    )
    @action(detail=True, methods=["post"], throttle_classes=JOB_THROTTLES)
    def apply(self, request: Request, pk: str | None = None) -> Response:
        """Import what a completed dry run previewed: its stored file, with its options, as a
        new import job whose `source_job` is the preview."""
        job = services.apply_preview(preview=self.get_object(), created_by=signed_in_user(request))
        return Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        responses={
            200: JobChangesPageSerializer,
            410: PREVIEW_EXPIRED,
        },
        parameters=[OpenApiParameter("page", int, description="A page number, from 1.")],
    )
    @action(detail=True, methods=["get"])
    def changes(self, request: Request, pk: str | None = None) -> Response:
        """What a dry run would change, or what an import changed, product by product, in SKU
        order, 50 to a page: the row as written and the product as it was (`previous_*`, null
        for a create)."""
        job = self.get_object()
        check_has_changes(job)
        return ChangesPagination().respond(request, job, JobChangeSerializer)


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


def check_has_changes(job: Job) -> None:
    """A 404 for a job with no list of changes, a 410 for one whose list expired: a dry run's
    after PREVIEW_KEEP_HOURS, an import's (its before-images) after UNDO_KEEP_DAYS."""
    if job.kind != Job.Kind.IMPORT or job.status != Job.Status.COMPLETED:
        raise NotFound("Only a completed import or dry run has a list of changes.")
    if job.dry_run:
        services.check_preview_kept(job)
    elif not undo_kept(job):
        raise services.UndoGone(
            "This import's changes are no longer kept: they are kept for UNDO_KEEP_DAYS days "
            "(its before-images), and none when that is 0."
        )


class JobChangesCsvView(GenericAPIView[Job]):
    """What a dry run would change, or what an import changed, as CSV: `action,sku,name,
    description,active,previous_sku,previous_name,previous_description,previous_active`,
    streamed in SKU order."""

    queryset = Job.objects.all()
    owner_field = "created_by_id"
    required_permissions = {"get": READ_FILES}

    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            410: PREVIEW_EXPIRED,
        }
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> StreamingHttpResponse:
        job = self.get_object()
        check_has_changes(job)
        response = StreamingHttpResponse(changes_csv(job), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-changes.csv"'
        return response


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
            "multipart/form-data": UploadSerializer,
        },
        responses={202: JobSerializer, 503: QUEUE_UNAVAILABLE},
    )
    def post(self, request: Request) -> Response:
        services.check_upload_size(int(request.META.get("CONTENT_LENGTH") or 0))
        given = ImportOptionsSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        job = services.create_import_job(
            upload=request.FILES.get("file"),
            created_by=signed_in_user(request),
            options=given.applied(),
            dry_run=given.validated_data.get("dry_run", False),
        )
        return Response(JobSerializer(job, context={"request": request}).data, status=202)


class ImportProfileViewSet(viewsets.ModelViewSet[ImportProfile]):
    """Saved import options: a mapping of a file's columns, `on_error` and `update_existing`.
    An upload names one as `profile`."""

    queryset = ImportProfile.objects.all()
    serializer_class = ImportProfileSerializer
    required_permissions = {
        "list": Rule("imports.view_importprofile", "read import profiles"),
        "retrieve": Rule("imports.view_importprofile", "read import profiles"),
        "create": Rule("imports.add_importprofile", "save import profiles"),
        "update": Rule("imports.change_importprofile", "edit import profiles"),
        "partial_update": Rule("imports.change_importprofile", "edit import profiles"),
        "destroy": Rule("imports.delete_importprofile", "delete import profiles"),
    }


class TemplateView(APIView):
    """A catalog to start from: the header an import reads, and two example rows."""

    required_permissions = {"get": Rule("products.view_product", "read products")}

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request) -> HttpResponse:
        response = HttpResponse(TEMPLATE_CSV, content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="products-template.csv"'
        return response


class BulkDeleteView(GenericAPIView[Job]):
    """Delete every product, asynchronously: 202 with the job to follow."""

    serializer_class = JobSerializer
    required_permissions = {"post": Rule("imports.delete_all_products", "delete all products")}
    throttle_classes = JOB_THROTTLES

    @extend_schema(request=None, responses={202: JobSerializer, 503: QUEUE_UNAVAILABLE})
    def post(self, request: Request) -> Response:
        job = services.create_bulk_delete_job(created_by=signed_in_user(request))
        return Response(JobSerializer(job, context={"request": request}).data, status=202)
