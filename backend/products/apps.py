from django.apps import AppConfig


class ProductsConfig(AppConfig):
    name = "products"
    verbose_name = "Products"

    def ready(self) -> None:
        from . import lookups  # noqa: F401  (registers the `ilike` lookup)
