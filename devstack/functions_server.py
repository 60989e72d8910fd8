"""Every function of `functions/main.py` on one port, at the Firebase emulator's URL shape.

`POST /<project>/<region>/<name>`: callables and HTTP functions get the request as is (the
official client SDKs' `connectFunctionsEmulator(host, port)` works unchanged). Pub/Sub-triggered
functions are HTTP endpoints too (they are reached by push subscriptions in production as well),
so the Pub/Sub emulator's push subscriptions post straight to them.

Functions are found the way deploy tooling finds them: every attribute of `functions.main` that
carries a `__firebase_endpoint__`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
from collections.abc import Callable
from typing import Any

import flask
from werkzeug.serving import make_server


def discover() -> dict[str, Callable[[flask.Request], Any]]:
    main = importlib.import_module("functions.main")
    found: dict[str, Callable[[flask.Request], Any]] = {}
    for name in getattr(main, "__all__", dir(main)):
        fn = getattr(main, name)
        if callable(fn) and hasattr(fn, "__firebase_endpoint__"):
            found[name] = fn
    return found


def create_app(project_id: str, region: str) -> flask.Flask:
    app = flask.Flask("focus-functions")
    functions = discover()

    @app.route("/healthz")
    def healthz() -> Any:
        return {"functions": sorted(functions)}

    @app.route(f"/{project_id}/{region}/<name>", methods=["GET", "POST", "OPTIONS", "PUT"])
    def dispatch(name: str) -> Any:
        fn = functions.get(name)
        if fn is None:
            return flask.jsonify(error={"status": "NOT_FOUND", "message": "No such function."}), 404
        return fn(flask.request)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--threads", type=int, default=32)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app(args.project, args.region)
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
