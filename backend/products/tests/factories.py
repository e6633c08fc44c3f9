from itertools import count

from products import services
from products.models import Product

_sequence = count(1)


def make_product(**fields: object) -> Product:
    """A product written the way the API writes one (search row included)."""
    n = next(_sequence)
    values: dict[str, object] = {
        "name": f"Product {n}",
        "sku": f"sku-{n}",
        "description": f"Description {n}",
    }
    values.update(fields)
    return services.create_product(**values)  # type: ignore[arg-type]
