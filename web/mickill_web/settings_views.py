"""Settings: the daemon's run-time settings, the schedule's zone, the password, API tokens."""

from flask import Blueprint, flash, redirect, render_template, url_for

from mickill.errors import RequestError

from . import daemon
from .auth import start_session
from .forms import ActionForm, PasswordForm, SettingsForm, TokenForm
from .schedule_views import zone_form

bp = Blueprint("settings", __name__, url_prefix="/settings")


def _settings_form(settings: dict) -> SettingsForm:
    minutes = settings.get("default_unmute_s", 900) / 60
    return SettingsForm(data={"default_unmute_min": f"{minutes:g}", "hold_s": f"{settings.get('hold_s', 2.0):g}",
                              "clock_policy": settings.get("clock_policy", "wait-sync")})


def _page(status=200, **forms):
    settings = daemon.ask("settings.get")["settings"]
    document = daemon.ask("schedule.get")["schedule"]
    tokens = daemon.ask("token.list")["tokens"]
    forms.setdefault("settings_form", _settings_form(settings))
    forms.setdefault("password_form", PasswordForm(formdata=None))
    forms.setdefault("token_form", TokenForm(formdata=None))
    return render_template("settings.html", tokens=tokens, zone_form=zone_form(document),
                           action=ActionForm(), **forms), status


@bp.route("")
def index():
    return _page()


def _number(field) -> float | None:
    try:
        return float((field.data or "").strip())
    except ValueError:
        field.errors = ["Write a number, such as 15 or 2.5."]
        return None


@bp.route("", methods=["POST"])
def save():
    form = SettingsForm()
    if not form.validate_on_submit():
        return _page(400, settings_form=form)
    minutes, hold = _number(form.default_unmute_min), _number(form.hold_s)
    if minutes is None or hold is None:
        return _page(422, settings_form=form)
    values = {"default_unmute_s": round(minutes * 60), "hold_s": hold, "clock_policy": form.clock_policy.data}
    try:
        daemon.ask("settings.set", settings=values)
    except RequestError as error:
        target = {"default_unmute_s": form.default_unmute_min, "hold_s": form.hold_s,
                  "clock_policy": form.clock_policy}.get(error.field or error.entry or "")
        if target is None:
            form.form_errors = [str(error)]
        else:
            target.errors = [str(error)]
        return _page(422, settings_form=form)
    flash("Settings saved.")
    return redirect(url_for("settings.index"))


@bp.route("/password", methods=["POST"])
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        answer = daemon.raw("auth.change_password", old_password=form.old_password.data,
                            new_password=form.new_password.data)
        if answer.get("ok"):
            start_session(answer)  # every other session, and the old cookie, has ended
            flash("Password changed.")
            return redirect(url_for("settings.index"))
        target = form.old_password if answer.get("field") == "old_password" else form.new_password
        target.errors = [answer.get("message", "refused")]
    return _page(422, password_form=form)


@bp.route("/tokens", methods=["POST"])
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(422, token_form=form)
    try:
        made = daemon.ask("token.create", name=form.name.data)
    except RequestError as error:
        form.name.errors = [str(error)]
        return _page(422, token_form=form)
    # Shown on this one page only and never stored in the session: it cannot be seen again.
    return _page(201, new_token=made, token_form=TokenForm(formdata=None))


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
def revoke_token(token_id: int):
    if ActionForm().validate_on_submit():
        try:
            daemon.ask("token.revoke", id=token_id)
            flash("Token revoked: it no longer opens the API.")
        except RequestError as error:
            flash(f"Not revoked: {error}", "error")
    return redirect(url_for("settings.index"))
