"""Every failure as a plain, styled page (or JSON under /api): 4xx, 5xx, and the daemon down."""

import logging

from flask import render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from mickill.errors import DaemonUnavailable, Refused, RequestError

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.endswith(".json")


def _page(status: int, title: str, message: str):
    if _wants_json():
        return {"error": title.lower().replace(" ", "_"), "message": message}, status
    return render_template("error.html", status=status, title=title, message=message), status


def daemon_down(error):
    log.warning("daemon unavailable: %s", error)
    return _page(503, "Controller not running",
                 "The mickill controller is not running, so the panel cannot see or change "
                 "anything. The microphone is cut: the relay's hardware default. Start the "
                 "controller (sudo systemctl start mickill, or mickill run) and reload this page.")


def refused(error: Refused):
    return _page(409, "Refused", f"The controller said no ({error.code}): {error}")


def bad_request(error: RequestError):
    return _page(400, "Not accepted", f"The controller did not accept this ({error.code}): {error}")


def http_error(error: HTTPException):
    if isinstance(error, CSRFError):
        return _page(400, "Form expired", "The form was too old or came from another site, so nothing "
                     "was changed. Go back, reload the page and try again.")
    return _page(error.code or 500, error.name, error.description or "")


def internal(error):
    log.exception("unexpected error", exc_info=getattr(error, "original_exception", error))
    return _page(500, "Internal error",
                 "Something went wrong inside the panel; the microphone is unaffected. "
                 "Reload the page; if it keeps happening, see the mickill-web service's log.")


def init_app(app) -> None:
    app.register_error_handler(DaemonUnavailable, daemon_down)
    app.register_error_handler(Refused, refused)
    app.register_error_handler(RequestError, bad_request)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(InternalServerError, internal)
    app.register_error_handler(Exception, internal)
