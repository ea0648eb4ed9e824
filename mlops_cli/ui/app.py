"""`mlops ui`: a read-only web view of the registry and its deployments (Starlette + Jinja2).

One view per page kind; every page is also served as JSON at the same path plus `.json` (the data the
page renders). Views are thin: the data comes from `mlops_cli.ui.data`, built on the CLI's own data
layer, and errors are the CLI's errors (not found -> 404 page; no credentials, access denied or an
unreachable endpoint -> a page that says which and how to fix it).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from mlops_cli.context import Context, Result
from mlops_cli.errors import (
    EXIT_DENIED,
    EXIT_NOT_FOUND,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    CliError,
)
from mlops_cli.ui.data import Cache, Pages

HERE = Path(__file__).resolve().parent
STATUS_OF_EXIT = {EXIT_NOT_FOUND: 404, EXIT_DENIED: 403, EXIT_UNREACHABLE: 503, EXIT_USAGE: 400}
TITLE_OF_STATUS = {
    404: "Not found",
    403: "No access",
    503: "AWS cannot be reached",
    400: "Bad request",
    502: "AWS error",
}


def plotly_js() -> Path:
    """plotly.js as shipped inside the `plotly` Python package: served locally, works offline."""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def to_json(data: Any) -> str:
    return json.dumps(data, default=_default, indent=2, sort_keys=True)


def _run(ctx: Context, fn: Callable[[], Any]) -> Any:
    """Run `fn` with the CLI's translation of AWS SDK errors into CliErrors (mlops_cli.main._run)."""
    from mlops_cli.main import _run as run_translated

    args = argparse.Namespace(run=lambda _ctx, _args: Result(fn(), ""))
    return run_translated(ctx, args).data


def build_app(
    ctx: Context, *, cache: Cache | None = None, renew: Callable[[], Context] | None = None
) -> Starlette:
    pages = Pages(ctx, cache, renew=renew)
    templates = Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"])
    )
    templates.filters["when"] = lambda v: "" if v is None else str(v).replace("T", " ")[:19]

    def page_url(request: Request, **changes: Any) -> str:
        query = {**dict(request.query_params), **{k: str(v) for k, v in changes.items()}}
        return request.url.path + ("?" + urlencode(query) if query else "")

    def render(
        request: Request, template: str, data: dict[str, Any], *, title: str, crumbs: list[tuple[str, str]]
    ) -> Response:
        json_url = request.url.path.rstrip("/") + ".json" if request.url.path != "/" else "/.json"
        if request.url.query:
            json_url += "?" + request.url.query
        html = templates.get_template(template).render(
            data=data,
            title=title,
            crumbs=crumbs,
            json_url=json_url,
            page_url=lambda **changes: page_url(request, **changes),
            request=request,
        )
        return HTMLResponse(html)

    def error_page(request: Request, exc: CliError, as_json: bool) -> Response:
        status = STATUS_OF_EXIT.get(exc.exit_code, 502)
        body = {"error": exc.message, "hint": exc.hint, "status": status}
        if as_json:
            return JSONResponse(body, status_code=status)
        html = templates.get_template("error.html").render(
            data=body,
            title=TITLE_OF_STATUS.get(status, "Error"),
            crumbs=[],
            json_url=None,
            request=request,
        )
        return HTMLResponse(html, status_code=status)

    def view(
        build: Callable[[Request], dict[str, Any]],
        template: str,
        title: Callable[[dict[str, Any]], str],
        crumbs: Callable[[dict[str, Any]], list[tuple[str, str]]],
        *,
        as_json: bool,
    ) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            try:
                data = _run(pages.ctx, lambda: build(request))
            except CliError as exc:
                return error_page(request, exc, as_json)
            if as_json:
                return Response(to_json(data), media_type="application/json")
            return render(request, template, data, title=title(data), crumbs=crumbs(data))

        return endpoint

    def number(text: str, what: str) -> int:
        if not text.isdigit() or int(text) < 1:
            raise CliError(f"{what} {text!r} is not a positive number", EXIT_NOT_FOUND)
        return int(text)

    def query_page(request: Request) -> int:
        text = request.query_params.get("page", "1")
        return int(text) if text.isdigit() else 1

    def registry(request: Request) -> dict[str, Any]:
        params = request.query_params
        return pages.registry(q=params.get("q", ""), team=params.get("team", ""), page=query_page(request))

    def group(request: Request) -> dict[str, Any]:
        params = request.query_params
        compare = None
        if params.get("a") and params.get("b"):
            compare = (number(params["a"], "version"), number(params["b"], "version"))
        return pages.group(
            request.path_params["group"],
            page=query_page(request),
            metric=params.get("metric", ""),
            compare=compare,
        )

    def version(request: Request) -> dict[str, Any]:
        return pages.version(request.path_params["group"], number(request.path_params["version"], "version"))

    def endpoint(request: Request) -> dict[str, Any]:
        p = request.path_params
        return pages.endpoint(
            p["account"],
            p["region"],
            p["name"],
            at=request.query_params.get("at", ""),
            page=query_page(request),
        )

    home: list[tuple[str, str]] = [("Registry", "/")]
    kinds: list[tuple[str, Callable[[Request], dict[str, Any]], str, Any, Any]] = [
        ("/", registry, "registry.html", lambda d: "Registry", lambda d: []),
        (
            "/groups/{group}",
            group,
            "group.html",
            lambda d: f"Group {d['group']}",
            lambda d: [*home, (d["group"], f"/groups/{d['group']}")],
        ),
        (
            "/groups/{group}/versions/{version}",
            version,
            "version.html",
            lambda d: f"{d['group']} version {d['version']}",
            lambda d: [
                *home,
                (d["group"], f"/groups/{d['group']}"),
                (f"version {d['version']}", f"/groups/{d['group']}/versions/{d['version']}"),
            ],
        ),
        (
            "/endpoints/{account}/{region}/{name}",
            endpoint,
            "endpoint.html",
            lambda d: f"Endpoint {d['endpoint']}",
            lambda d: [
                *home,
                (d["group"], f"/groups/{d['group']}"),
                (d["endpoint"], f"/endpoints/{d['endpoint_id']}"),
            ],
        ),
    ]
    routes: list[Any] = []
    for path, build, template, title, crumbs in kinds:
        json_path = "/.json" if path == "/" else path + ".json"
        # the JSON twin first: a name never contains a dot, so `x.json` can only mean the twin
        routes.append(Route(json_path, view(build, template, title, crumbs, as_json=True)))
        routes.append(Route(path, view(build, template, title, crumbs, as_json=False)))
    routes.append(Route("/static/plotly.min.js", lambda request: FileResponse(plotly_js())))
    routes.append(Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"))

    async def not_found(request: Request, exc: Exception) -> Response:
        error = CliError(f"no page at {request.url.path}", EXIT_NOT_FOUND, hint=None)
        return error_page(request, error, request.url.path.endswith(".json"))

    app = Starlette(routes=routes, exception_handlers={404: not_found})
    app.state.pages = pages
    return app
