"""The API's router: DRF's, with an index page (`GET /api/`) that any role may read."""

from rest_framework import routers

from .permissions import ANY_ROLE


class ApiRootView(routers.APIRootView):
    """The browsable API's index: links to the endpoints."""

    required_permissions = {"get": ANY_ROLE}


class Router(routers.DefaultRouter):
    APIRootView = ApiRootView
