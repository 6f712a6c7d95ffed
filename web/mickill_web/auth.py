"""First-run setup, login and logout, and the guard that sends every other page there. The
cookie holds only a session id; the daemon keeps the sessions, so logging out ends one for real."""

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request,
                   session, url_for)

from . import daemon
from .forms import ActionForm, LoginForm, SetupForm
from .security import client_address, monotonic

bp = Blueprint("auth", __name__)
OPEN_ENDPOINTS = frozenset({"static", "auth.login", "auth.setup"})


def admin_exists() -> bool:
    # Once an admin exists it never goes away, so one yes is remembered; a no is asked again.
    if not current_app.extensions.get("mickill_admin_exists"):
        current_app.extensions["mickill_admin_exists"] = daemon.ask("auth.state")["admin_exists"]
    return current_app.extensions["mickill_admin_exists"]


def forget_admin() -> None:
    current_app.extensions["mickill_admin_exists"] = False


def logged_in() -> bool:
    """Whether this request carries a session the daemon knows: one round trip per request."""
    if "mickill_logged_in" not in g:
        sid = session.get("sid")
        known = isinstance(sid, str) and daemon.raw("auth.session", session=sid).get("ok") is True
        if not known and session:
            session.clear()  # an ended or forged session is dropped from the browser too
        g.mickill_logged_in = known
    return g.mickill_logged_in


def guard():
    endpoint = request.endpoint
    if endpoint is None or endpoint == "static" or endpoint.startswith("api."):
        return None  # unknown paths get a 404; the API checks its own bearer tokens
    if not admin_exists():
        return None if endpoint == "auth.setup" else redirect(url_for("auth.setup"))
    if endpoint == "auth.setup":
        abort(404)  # the setup page is gone once an admin exists
    if endpoint not in OPEN_ENDPOINTS and not logged_in():
        return redirect(url_for("auth.login"))
    return None


def start_session(answer: dict) -> None:
    """Keep the daemon's new session id (from a login, setup or password change) in the cookie."""
    session.clear()  # a fresh session: nothing set before login survives it
    session["sid"] = answer["session"]
    session.permanent = True
    g.mickill_logged_in = True


def _throttled(form, template: str):
    throttle = current_app.extensions["mickill_throttle"]
    wait = throttle.wait(client_address(), monotonic())
    if wait > 0:
        message = f"Too many failed attempts from your address: wait {wait:.0f} s and try again."
        return render_template(template, form=form, blocked=message), 429
    return None


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    form = SetupForm()
    if request.method == "POST":
        blocked = _throttled(form, "setup.html")
        if blocked:
            return blocked
    if form.validate_on_submit():
        answer = daemon.raw("auth.setup", code=form.code.data, password=form.password.data)
        if answer.get("ok"):
            current_app.extensions["mickill_throttle"].succeeded(client_address())
            current_app.extensions["mickill_admin_exists"] = True
            start_session(answer)
            flash("The panel is yours. Keep the password safe: there is no other way in.")
            return redirect(url_for("dashboard.index"))
        if answer.get("error") == "admin_exists":
            abort(404)
        if answer.get("error") == "bad_code":
            current_app.extensions["mickill_throttle"].failed(client_address(), monotonic())
        target = form.password if answer.get("field") == "password" else form.code
        target.errors = [answer.get("message", "refused")]
    return render_template("setup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if logged_in():
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    if request.method == "POST":
        blocked = _throttled(form, "login.html")
        if blocked:
            return blocked
    if form.validate_on_submit():
        answer = daemon.raw("auth.login", password=form.password.data)
        if answer.get("ok"):
            current_app.extensions["mickill_throttle"].succeeded(client_address())
            start_session(answer)
            return redirect(url_for("dashboard.index"))
        if answer.get("error") == "no_admin":
            forget_admin()
            return redirect(url_for("auth.setup"))
        current_app.extensions["mickill_throttle"].failed(client_address(), monotonic())
        form.password.errors = ["Wrong password: type it again (capital letters matter)."]
        return render_template("login.html", form=form), 401
    return render_template("login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    if ActionForm().validate_on_submit():
        if isinstance(session.get("sid"), str):
            daemon.raw("auth.logout", session=session["sid"])
        session.clear()
    return redirect(url_for("auth.login"))


def init_app(app) -> None:
    app.before_request(guard)
