"""The dashboard: the mic's state, big and unmistakable, kept live by polling /status.json,
and the mute and unmute buttons."""

from datetime import datetime, timezone

from flask import Blueprint, current_app, flash, redirect, render_template, url_for

from mickill.errors import Refused, RequestError

from . import daemon
from .display import present
from .forms import UNMUTE_CHOICES, ActionForm, UnmuteForm

bp = Blueprint("dashboard", __name__)
MAX_UNMUTE_S = 12 * 3600


def status() -> dict:
    answer = daemon.ask("status")
    current_app.extensions["mickill_simulated"] = bool(answer.get("simulated"))
    return answer


@bp.route("/")
def index():
    current = status()
    return render_template("dashboard.html", words=present(current), status=current,
                           unmute_choices=UNMUTE_CHOICES)


@bp.route("/status.json")
def status_json():
    current = status()
    return {"status": current, "display": present(current)}


def _refusal(error) -> None:
    flash(f"Refused ({error.code}): {error}", "error")


@bp.route("/mute", methods=["POST"])
def mute():
    if ActionForm().validate_on_submit():
        daemon.ask("mute")
        flash("Muted: the microphone is cut.")
    return redirect(url_for("dashboard.index"))


@bp.route("/fault/clear", methods=["POST"])
def clear_fault():
    if ActionForm().validate_on_submit():
        daemon.ask("fault.clear")
        flash("Fault acknowledged. If the relay still disagrees with its command, it comes back.")
    return redirect(url_for("dashboard.index"))


def seconds_until_next_change(current: dict, now: datetime) -> int:
    """'Until the next change' as a duration the daemon accepts (it caps unmutes at 12 h)."""
    at = (current.get("next_change") or {}).get("at")
    if not at:
        return MAX_UNMUTE_S
    seconds = int((datetime.fromisoformat(at) - now).total_seconds())
    return max(60, min(MAX_UNMUTE_S, seconds))


@bp.route("/unmute", methods=["POST"])
def unmute():
    form = UnmuteForm()
    if not form.validate_on_submit():
        flash("Choose how long to unmute for: 15 minutes, 1 hour or until the next change.", "error")
        return redirect(url_for("dashboard.index"))
    if form.duration.data == "next":
        seconds = seconds_until_next_change(status(), datetime.now(timezone.utc))
    else:
        seconds = int(form.duration.data)
    try:
        daemon.ask("unmute", **{"for": seconds})
        flash("Unmuted: the microphone is live.")
    except (Refused, RequestError) as error:
        _refusal(error)
    return redirect(url_for("dashboard.index"))
