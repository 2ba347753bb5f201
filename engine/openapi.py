"""The OpenAPI document of ``followup serve``, and its reference pages served offline.

:func:`document` builds ``/openapi.json`` from the routes and the named request and
response models (:class:`engine.server.Schemas` and the result types): every shape is a
component under its own name, so a generator such as ``openapi-python-client`` makes
one typed class per shape. It adds

* the security scheme: an API key as an HTTP bearer token (``Authorization: Bearer
  KEY``), declared on every ``/v1/`` operation; when the server has no tenants the
  key is optional there (``security`` lists the empty requirement too), and a 401 is
  documented for a missing or unknown key;
* the examples of docs/api.md (``static/openapi-examples.json``, made from that page and
  kept equal to it by ``tests/service/test_openapi_client.py``): request bodies and
  answers, errors included, each under the status it is answered with.

:func:`add_reference_pages` serves Swagger UI at ``/docs`` and ReDoc at ``/redoc`` from
files installed with followup: Swagger UI from the ``swagger-ui-bundle-v2`` package (Swagger
UI 5, the first to read OpenAPI 3.1; it installs the module ``swagger_ui_bundle``), ReDoc
from ``engine/static/redoc`` (vendored from npm). The pages load nothing from anywhere
else, so they render on a machine with no network.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ["SECURITY_SCHEME", "ASSETS", "document", "add_reference_pages", "examples"]

#: the name of the security scheme in ``components.securitySchemes``
SECURITY_SCHEME = "bearerAuth"
#: operations under this prefix take an API key
SECURED_PREFIX = "/v1/"
#: where the pages' scripts and styles are served
ASSETS = "/docs/assets"

#: the operations' groups, in the order the reference pages show them
TAGS = [
    {"name": "decisions", "description": "Judge a candidate's timeline: its findings, whether a planned message "
                                         "may be sent now, and what is due next."},
    {"name": "policies", "description": "The policies the server serves."},
    {"name": "server", "description": "Whether the server is up."},
]

STATIC = Path(__file__).resolve().parent / "static"
EXAMPLES_FILE = STATIC / "openapi-examples.json"

_REF = "#/components/schemas/{model}"


@lru_cache(maxsize=1)
def examples() -> dict[str, Any]:
    """The examples of docs/api.md: ``{path: {method: {"request": {name: example},
    "responses": {status: {name: example}}}}}``, each example ``{"summary", "value"}``."""
    return json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))


def _error_answer(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": _REF.format(model="ErrorResponse")}}}}


def document(*, title: str, version: str, description: str, routes: Iterable, components: list[tuple],
             require_auth: bool = False) -> dict[str, Any]:
    """The OpenAPI 3.1 document of an application with these ``routes``.

    ``components`` are ``(model, mode)`` pairs (``mode`` is the JSON Schema mode,
    ``validation`` for what is read, ``serialization`` for what is answered); every model
    they name, their parts included, becomes a component under its class name.
    ``require_auth``: whether the ``/v1/`` operations refuse a request without a key
    (a server with tenants) or also take one without (a server without).
    """
    doc = get_openapi(title=title, version=version, description=description, routes=list(routes), tags=TAGS)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    _, defs = models_json_schema(components, ref_template=_REF)
    for name, schema in defs["$defs"].items():
        if schemas.get(name, schema) != schema:
            raise RuntimeError(f"two OpenAPI components are named {name}")
        schemas[name] = schema
    doc["components"]["securitySchemes"] = {SECURITY_SCHEME: {
        "type": "http", "scheme": "bearer",
        "description": "An API key of the caller's tenant, sent as `Authorization: Bearer KEY`. Required when "
                       "the server runs with `--tenants`; a server without tenants takes requests without one.",
    }}
    requirement = [{SECURITY_SCHEME: []}] if require_auth else [{SECURITY_SCHEME: []}, {}]
    shown = examples()
    for path, methods in doc.get("paths", {}).items():
        for method, operation in methods.items():
            if path.startswith(SECURED_PREFIX):
                operation["security"] = requirement
                operation.setdefault("responses", {}).setdefault("401", _error_answer(
                    "No API key, or a key the server does not know (only a server with `--tenants` asks for one)."))
            _add_examples(operation, shown.get(path, {}).get(method, {}))
    return doc


def _add_examples(operation: dict, shown: dict) -> None:
    request = shown.get("request")
    if request and "requestBody" in operation:
        operation["requestBody"]["content"]["application/json"]["examples"] = request
    for status, named in shown.get("responses", {}).items():
        answer = operation.get("responses", {}).get(status)
        if answer is None:
            raise RuntimeError(f"an example answers {status}, which the operation does not document")
        answer["content"]["application/json"]["examples"] = named


# --------------------------------------------------------------------------- reference pages


def _assets() -> dict[str, Path]:
    """The files the pages load, by the name they are served under."""
    from swagger_ui_bundle import swagger_ui_path  # swagger-ui-bundle-v2, of the server extra
    swagger = Path(str(swagger_ui_path))
    return {
        "swagger-ui-bundle.js": swagger / "swagger-ui-bundle.js",
        "swagger-ui.css": swagger / "swagger-ui.css",
        "favicon.png": swagger / "favicon-32x32.png",
        "redoc.standalone.js": STATIC / "redoc" / "redoc.standalone.js",
    }


def add_reference_pages(app: FastAPI, openapi_url: str = "/openapi.json") -> None:
    """Serve Swagger UI at ``/docs`` and ReDoc at ``/redoc``, and their assets under
    :data:`ASSETS`, from installed files only."""
    assets = _assets()
    missing = [str(p) for p in assets.values() if not p.is_file()]
    if missing:
        raise RuntimeError(f"the API reference pages' files are missing: {', '.join(missing)}")
    title = f"{app.title} API"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url, title=title,
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
            # no badge that sends the document to an online validator
            swagger_ui_parameters={"validatorUrl": None})

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(openapi_url=root + openapi_url, title=title,
                              redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
                              redoc_favicon_url=f"{root}{ASSETS}/favicon.png", with_google_fonts=False)

    @app.get(ASSETS + "/{name}", include_in_schema=False)
    async def asset(name: str) -> FileResponse:
        path = assets.get(name)
        if path is None:
            raise StarletteHTTPException(404)
        return FileResponse(path, headers={"cache-control": "public, max-age=86400"})
