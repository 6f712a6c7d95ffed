"""Settings: the daemon's run-time settings, the schedule's zone, the password, API tokens."""

import json

from flask import Blueprint, flash, redirect, render_template, url_for

from mickill.errors import Refused, RequestError

from . import daemon
from .auth import start_session
from .forms import ActionForm, PasswordForm, SettingsForm, TokenForm
from .schedule_views import zone_form

bp = Blueprint("settings", __name__, url_prefix="/settings")


POLICIES = {"wait-sync": "Wait for synchronisation", "trust": "Trust the clock"}
FROM_CONFIG = ""  # the choice that saves clock_policy null: [clock] policy of the config file


def _values(settings: dict) -> dict:
    return {"default_unmute_s": settings.get("default_unmute_s", 900), "hold_s": settings.get("hold_s", 2.0),
            "clock_policy": settings.get("clock_policy")}


def _policy_choices(form: SettingsForm, settings: dict) -> None:
    from_config = daemon.ask("settings.get").get("config_clock_policy")
    if from_config:
        config = f"As in the config file ({POLICIES.get(from_config, from_config).lower()})"
    else:
        config = "As in the config file ([clock] policy)"
    form.clock_policy.choices = {FROM_CONFIG: config, **POLICIES}


def _settings_form(settings: dict) -> SettingsForm:
    values = _values(settings)
    form = SettingsForm(data={"default_unmute_min": f"{values['default_unmute_s'] / 60:g}",
                              "hold_s": f"{values['hold_s']:g}",
                              "clock_policy": values["clock_policy"] or FROM_CONFIG,
                              "shown": json.dumps(values)})
    _policy_choices(form, settings)
    return form


def _shown(form: SettingsForm, settings: dict) -> dict:
    """What the page showed the owner; the stored values if the form does not say."""
    try:
        shown = json.loads(form.shown.data or "")
    except ValueError:
        shown = None
    return shown if isinstance(shown, dict) else _values(settings)


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


def _not_saved(form: SettingsForm, key: str, message: str, status: int):
    """The settings page again, with the daemon's reason next to the field it names."""
    target = {"default_unmute_s": form.default_unmute_min, "hold_s": form.hold_s,
              "clock_policy": form.clock_policy}.get(key)
    if target is None:
        form.form_errors = [message]
    else:
        target.errors = [message]
    return _page(status, settings_form=form)


@bp.route("", methods=["POST"])
def save():
    form = SettingsForm()
    settings = daemon.ask("settings.get")["settings"]
    _policy_choices(form, settings)
    if not form.validate_on_submit():
        return _page(400, settings_form=form)
    minutes, hold = _number(form.default_unmute_min), _number(form.hold_s)
    if minutes is None or hold is None:
        return _page(422, settings_form=form)
    wanted = {"default_unmute_s": round(minutes * 60), "hold_s": hold,
              "clock_policy": form.clock_policy.data or None}
    shown = _shown(form, settings)
    # Only what the owner changed: an untouched field must not undo a change made elsewhere.
    changes = {key: value for key, value in wanted.items() if value != shown.get(key)}
    if not changes:
        flash("Nothing to save: the settings are as they were.")
        return redirect(url_for("settings.index"))
    try:
        daemon.ask("settings.set", settings=changes)
    except Refused as refusal:
        # The daemon's only settings refusal is `clock`: trusting a clock it does not trust.
        key = "clock_policy" if refusal.code == "clock" else ""
        return _not_saved(form, key, f"Not saved ({refusal.code}): {refusal}", 409)
    except RequestError as error:
        return _not_saved(form, error.field or error.entry or "", str(error), 422)
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
