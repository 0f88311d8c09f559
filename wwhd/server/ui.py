"""The reference chat page at `/ui`: the bundle `make ui` builds from `ui/` into `ui/dist/`.

The bundle is built, not committed, so a server may run without it (a wheel, an image built
without Node, a checkout before `make ui`): then `/ui` answers 404 saying how to build it, and the
rest of the server is unaffected. The folder is looked up on every request, so a build made while
the server runs is picked up without a restart.

Only single-segment names are served (`/ui`, `/ui/`, `/ui/app.js`): the LangGraph API keeps
`/ui/{graph_id}/{file}` (its generative-UI assets) and `POST /ui/{graph_id}`, which these routes
must not shadow.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse, Response

# wwhd/server/ui.py -> the checkout's root; in an installed wheel this points into
# site-packages, where no ui/dist exists, and /ui says so.
UI_DIST = Path(__file__).resolve().parents[2] / "ui" / "dist"
INDEX = "index.html"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".map": "application/json",
}
# The bundle's file names carry no hash, so a browser must revalidate (ETag) on every load.
NO_CACHE = {"Cache-Control": "no-cache"}


def not_built(dist: Path) -> JSONResponse:
    """The 404 for a server whose page was never built."""
    return JSONResponse(
        {"detail": f"The reference page is not built ({dist / INDEX} is missing): "
                   "run `make ui` in the checkout, then reload."},
        status_code=404,
    )


def ui_router(dist: Path = UI_DIST) -> APIRouter:
    """Routes serving the built page from `dist`: GET (and HEAD) `/ui`, `/ui/` and `/ui/<file>`."""
    router = APIRouter(include_in_schema=False)

    def serve(name: str) -> Response:
        if not (dist / INDEX).is_file():
            return not_built(dist)
        # A name straight from the folder's listing: nothing outside it can be reached.
        files = {path.name: path for path in dist.iterdir() if path.is_file()}
        path = files.get(name)
        if path is None or path.suffix not in MEDIA_TYPES:
            return JSONResponse({"detail": f"/ui/{name} does not exist"}, status_code=404)
        return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=NO_CACHE)

    @router.api_route("/ui", methods=["GET", "HEAD"])
    @router.api_route("/ui/", methods=["GET", "HEAD"])
    def page() -> Response:
        """The page itself (its thread, if any, is in the query string)."""
        return serve(INDEX)

    @router.api_route("/ui/{name}", methods=["GET", "HEAD"])
    def asset(name: str) -> Response:
        """The script (and any other file) the page loads."""
        return serve(name)

    return router
