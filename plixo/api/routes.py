"""Every operation the API serves, with the capability it declares.

The generated access tests walk `api_operations()`, so a new route is tested the moment it is
mounted, and a route without `api_requires` shows up with `capability=None` and fails them.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from ninja import NinjaAPI

from plixo.core.permissions import Cap

# "{uuidstr:customer_id}" (ninja's spelling of a converter) -> "{customer_id}"
_PATH_PARAM = re.compile(r"\{(?:\w+:)?(\w+)\}")


@dataclass(frozen=True)
class ApiOperation:
    method: str
    path: str  # e.g. "/api/v1/invoices/{invoice_id}/timeline"
    view_func: Any
    capability: Cap | None

    def __iter__(self):
        # So callers can unpack: `for method, path, view, cap in api_operations()`.
        return iter((self.method, self.path, self.view_func, self.capability))

    @property
    def path_params(self) -> list[str]:
        return _PATH_PARAM.findall(self.path)

    def url(self, **ids) -> str:
        return _PATH_PARAM.sub(lambda m: str(ids[m.group(1)]), self.path)


def _join(*parts: str) -> str:
    joined = "/".join(part.strip("/") for part in parts if part.strip("/"))
    return "/" + joined


def api_operations(api: NinjaAPI | None = None) -> Iterator[ApiOperation]:
    """Yield (method, path template, view function, capability) for every operation mounted
    on the API, as it is served (after ninja bound the routers)."""
    if api is None:
        from plixo.api.urls import api as default_api

        api = default_api
    root = reverse(f"{api.urls_namespace}:api-root")
    # Bound routers are what ninja serves; reading them (rather than a list of our own) means
    # a router mounted anywhere on this API cannot escape the access tests.
    for bound in api._get_bound_routers():
        for path, path_view in bound.path_operations.items():
            template = _PATH_PARAM.sub(r"{\1}", _join(root, bound.prefix, path))
            for operation in path_view.operations:
                capability = getattr(operation.view_func, "required_capability", None)
                for method in operation.methods:
                    yield ApiOperation(method.upper(), template, operation.view_func, capability)
