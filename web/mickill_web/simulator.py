"""The simulator (only when the daemon runs on simulated GPIO): a virtual button to press,
release and hold, the relay, LED and sense drawn live, and a sense fault to inject."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from mickill.errors import Refused, RequestError

from . import daemon
from .dashboard import status
from .forms import ActionForm

bp = Blueprint("simulator", __name__, url_prefix="/simulator")
HOLD_CHOICES = (1, 3, 5)


def _require_simulated() -> dict:
    current = status()
    if not current.get("simulated"):
        abort(404, "The simulator exists only when mickill runs on simulated GPIO (mickill run --simulate).")
    return current


@bp.route("")
def index():
    current = _require_simulated()
    pins = daemon.ask("sim.pins")
    return render_template("simulator.html", status=current, pins=pins, action=ActionForm(), holds=HOLD_CHOICES)


@bp.route("/pins.json")
def pins_json():
    current = _require_simulated()
    pins = daemon.ask("sim.pins")
    pins.pop("ok", None)
    return {"pins": pins, "state": current.get("state"), "locked": current.get("locked"),
            "fault": current.get("fault")}


@bp.route("/<any(press, release, hold, fault):action>", methods=["POST"])
def act(action: str):
    _require_simulated()
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        if action == "hold":
            seconds = float(request.form.get("seconds", "3"))
            if seconds not in HOLD_CHOICES:
                abort(400, f"Hold for one of {HOLD_CHOICES} seconds.")
            daemon.ask("sim.hold", seconds=seconds)
        elif action == "fault":
            daemon.ask("sim.sense_fault", on=request.form.get("on") == "1")
        else:
            daemon.ask(f"sim.{action}")
    except (Refused, RequestError) as error:
        flash(f"Refused ({error.code}): {error}", "error")
    if request.headers.get("X-Requested-With") == "fetch":
        return {"ok": True}
    return redirect(url_for("simulator.index"))
