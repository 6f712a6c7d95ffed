"""The JSON API under /api/v1, for home automation: bearer tokens (made in Settings), requests
carry source "api", so the daemon applies the same policy as to everything else."""

from flask import Blueprint, g, request

from mickill.errors import Refused, RequestError

from . import daemon

bp = Blueprint("api", __name__, url_prefix="/api/v1")
STATUS_CODES = {"invalid": 422, "unknown_op": 501, "too_large": 413, "forbidden_source": 403}


def _problem(status: int, code: str, message: str, **extra):
    return {"error": code, "message": message, **extra}, status


def _unauthorized(code: str, message: str):
    body, status = _problem(401, code, message)
    return body, status, {"WWW-Authenticate": "Bearer"}


@bp.before_request
def bearer():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _unauthorized("unauthorized", "send 'Authorization: Bearer TOKEN'; create a token in the panel's Settings")
    answer = daemon.raw("token.verify", source="api", token=token.strip())
    if not answer.get("ok"):
        return _unauthorized("bad_token", answer.get("message", "the token was refused"))
    g.api_token = answer.get("name")
    return None


@bp.errorhandler(Refused)
def refused(error: Refused):
    return _problem(409, error.code, str(error))


@bp.errorhandler(RequestError)
def bad_request(error: RequestError):
    extra = {key: value for key, value in (("entry", error.entry), ("field", error.field)) if value}
    return _problem(STATUS_CODES.get(error.code, 400), error.code, str(error), **extra)


def _ask(op: str, **fields) -> dict:
    answer = daemon.ask(op, source="api", **fields)
    return {key: value for key, value in answer.items() if key not in ("ok", "id")}


def _body() -> dict:
    body = request.get_json(silent=True)
    if body is None and request.content_length:
        raise RequestError("bad_request", "the body is not JSON: send Content-Type: application/json and a JSON object")
    if body is not None and not isinstance(body, dict):
        raise RequestError("bad_request", "the body must be a JSON object")
    return body or {}


def _duration(body: dict) -> dict:
    if "for" not in body:
        return {}
    seconds = body["for"]
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds <= 0:
        raise RequestError("bad_request", "'for' must be a positive number of seconds", field="for")
    return {"for": seconds}


def _range() -> dict:
    return {key: request.args[key] for key in ("from", "to") if request.args.get(key)}


@bp.get("/status")
def status():
    return _ask("status")


@bp.post("/mute")
def mute():
    return _ask("mute", **_duration(_body()))


@bp.post("/unmute")
def unmute():
    return _ask("unmute", **_duration(_body()))


def _document(body: dict) -> dict:
    if isinstance(body.get("toml"), str):
        return {"toml": body["toml"]}
    if isinstance(body.get("schedule"), dict):
        return {"schedule": body["schedule"]}
    raise RequestError("bad_request", "send {\"schedule\": {...}} or {\"toml\": \"...\"}", field="schedule")


@bp.get("/schedule")
def schedule_get():
    return _ask("schedule.get")


@bp.put("/schedule")
def schedule_put():
    return _ask("schedule.set", **_document(_body()))


@bp.post("/schedule/validate")
def schedule_validate():
    return _ask("schedule.validate", **_document(_body()))


@bp.get("/plan")
def plan():
    fields = _range()
    if set(fields) != {"from", "to"}:
        raise RequestError("bad_request", "give both ?from= and ?to= (ISO 8601)", field="from")
    return _ask("plan", **fields)


@bp.get("/ledger")
def ledger():
    return _ask("ledger", **_range())
