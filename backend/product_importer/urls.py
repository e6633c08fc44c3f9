from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.dashboard import dashboard
from core.routers import Router
from core.session import SessionView
from core.sign_in import TokenView, admin_login, browsable_api_login
from core.views import healthz
from jobs.events import JobEventsView
from jobs.views import (
    BulkDeleteView,
    ImportProfileViewSet,
    JobChangesCsvView,
    JobErrorsView,
    JobStatusView,
    JobViewSet,
    TemplateView,
    UploadView,
)
from products.views import ProductViewSet
from webhooks.views import WebhookViewSet

router = Router()
router.register("products", ProductViewSet, basename="product")
router.register("jobs", JobViewSet, basename="job")
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register("import-profiles", ImportProfileViewSet, basename="import-profile")

urlpatterns = [
    # The seed's paths of the two endpoints that create jobs, before the router's product detail
    # route (which would take "upload" for an id).
    path("api/products/upload/", UploadView.as_view(), name="product-upload"),
    path("api/products/bulk_delete/", BulkDeleteView.as_view(), name="product-bulk-delete"),
    path("api/products/template.csv", TemplateView.as_view(), name="product-template"),
    # Before the router's, whose `changes` action would take `.csv` for a format suffix.
    path("api/jobs/<uuid:pk>/changes.csv", JobChangesCsvView.as_view(), name="job-changes-csv"),
    path("api/", include(router.urls)),
    path("api/job/<uuid:pk>/status/", JobStatusView.as_view(), name="job-status"),
    path("api/job/<uuid:pk>/events/", JobEventsView.as_view(), name="job-events"),
    path("api/jobs/<uuid:pk>/errors.csv", JobErrorsView.as_view(), name="job-errors"),
    path("api/auth/token/", TokenView.as_view(), name="api-token"),
    path("api/auth/session/", SessionView.as_view(), name="api-session"),
    # The HTML sign-in forms, under the sign-in throttles (before the routes that serve them).
    path("api/auth/login/", browsable_api_login),
    path("api/auth/", include("rest_framework.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("healthz", healthz, name="healthz"),
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
    # The dashboard's client-side routes (/, /products, /imports/...): paths without a dot, outside
    # the API, the admin and the static and media files. Unknown /api/ paths stay JSON 404s.
    re_path(r"^(?!(?:api|admin|static|media)(?:/|$))[\w/-]*$", dashboard, name="dashboard"),
]

handler400 = "core.views.api_bad_request"
handler403 = "core.views.api_permission_denied"
handler404 = "core.views.api_not_found"
handler500 = "core.views.api_server_error"
