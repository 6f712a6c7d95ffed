"""The schedule editor: the week drawn from the daemon's plan, windows and exceptions to add,
edit, switch off or delete, the zone, a 14-day preview, and TOML import and export."""

import hashlib
import json
import re
from datetime import datetime, timedelta
from zoneinfo import available_timezones

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from mickill.errors import RequestError

from . import daemon, timeline
from .display import clocks_change_on, when, zone_of
from .forms import DAY_CHOICES, ActionForm, ExceptionForm, ImportForm, WindowForm, ZoneForm

bp = Blueprint("schedule", __name__, url_prefix="/schedule")
KINDS = {"window": WindowForm, "exception": ExceptionForm}
PREVIEW_DAYS = 14
_ENTRY = re.compile(r"(window|exception) (\d+)")


def _document() -> dict:
    return daemon.ask("schedule.get")["schedule"]


def version(document: dict) -> str:
    """A fingerprint of the schedule a page showed: entries are edited by their place in the
    list, so a change made elsewhere in between must not let an edit land on another entry."""
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:16]


def _stale(document: dict) -> bool:
    if request.form.get("version") == version(document):
        return False
    flash("The schedule changed since this page was shown (in another tab, on the command line or "
          "through the API), so nothing was saved. Here is the schedule as it is now.", "error")
    return True


def _save(document: dict) -> None:
    daemon.ask("schedule.set", schedule=document)


def zone_form(document: dict) -> ZoneForm:
    form = ZoneForm(data={"timezone": document.get("timezone"), "default": document.get("default", "live")})
    form.timezone.choices = sorted(available_timezones())
    return form


def _week(zone, now: datetime) -> dict:
    first = timeline.week_start(now.astimezone(zone).date())
    start, _ = timeline.day_bounds(first, zone)
    _, end = timeline.day_bounds(first + timedelta(days=6), zone)
    changes = daemon.ask("plan", **{"from": start.isoformat(), "to": end.isoformat()})["changes"]
    runs = timeline.runs(changes[0], changes[1:], start, end) if changes else []
    return {"days": [(day, timeline.pieces_of_day(runs, day, zone), clocks_change_on(day, zone))
                     for day in timeline.days(first, 7)]}


def _preview(zone, now: datetime) -> list[dict]:
    changes = daemon.ask("plan", **{"from": now.isoformat(), "to": (now + timedelta(days=PREVIEW_DAYS)).isoformat()})["changes"]
    rows = []
    for change in changes[1:]:
        local = datetime.fromisoformat(change["at"]).astimezone(zone)
        rows.append({**change, "when": when(local, zone), "dst": clocks_change_on(local.date(), zone)})
    return rows


@bp.route("")
def index():
    document = _document()
    zone = zone_of({"timezone": document.get("timezone")})
    now = datetime.now(zone)
    return render_template("schedule.html", document=document, zone=str(zone), week=_week(zone, now),
                           preview=_preview(zone, now), zone_form=zone_form(document),
                           action=ActionForm(), import_form=ImportForm(), now=now, version=version(document))


def _entry_from_form(kind: str, form) -> dict:
    entry = {"name": form.name.data or "", "state": form.state.data}
    if kind == "window":
        entry.update(days=list(form.days.data or []), start=form.start.data or "", end=form.end.data or "")
    else:
        entry.update({"from": form.first.data or "", "to": form.last.data or ""})
    if form.locked.data:
        entry["locked"] = True
    if not form.enabled.data:
        entry["enabled"] = False
    return entry


def _form_from_entry(kind: str, entry: dict):
    data = {"name": entry.get("name"), "state": entry.get("state"), "locked": entry.get("locked", False),
            "enabled": entry.get("enabled", True)}
    if kind == "window":
        data.update(days=entry.get("days", []), start=entry.get("start"), end=entry.get("end"))
    else:
        data.update(first=entry.get("from"), last=entry.get("to"))
    return KINDS[kind](data=data)


def show_invalid(form, error: RequestError, kind: str, number: int) -> None:
    """Put the daemon's message next to the field it names, or above the form."""
    match = _ENTRY.match(error.entry or "")
    field = form.FIELDS.get(error.field or "")
    if field and (match is None or (match.group(1) == kind and int(match.group(2)) == number)):
        getattr(form, field).errors = [str(error)]
    else:
        form.form_errors = [str(error)]


@bp.route("/<any(window, exception):kind>/new", methods=["GET", "POST"], defaults={"number": None})
@bp.route("/<any(window, exception):kind>/<int:number>", methods=["GET", "POST"])
def edit(kind: str, number: int | None):
    document = _document()
    entries = document.setdefault(kind, [])
    if number is not None and not 1 <= number <= len(entries):
        abort(404, f"There is no {kind} number {number}: go back to the schedule and pick one from the list.")
    if request.method == "GET":
        if number is None:
            blank = ({"days": list(DAY_CHOICES), "start": "22:00", "end": "07:00"}
                     if kind == "window" else {})
            form = _form_from_entry(kind, {"state": "muted", **blank})
        else:
            form = _form_from_entry(kind, entries[number - 1])
    else:
        form = KINDS[kind]()
        # A new entry is appended to whatever is there now; an edit must hit the entry it showed.
        if number is not None and form.validate_on_submit() and _stale(document):
            return redirect(url_for("schedule.index"))
        if form.validate_on_submit():
            entry = _entry_from_form(kind, form)
            position = number or len(entries) + 1
            if number is None:
                entries.append(entry)
            else:
                entries[number - 1] = entry
            try:
                _save(document)
            except RequestError as error:
                show_invalid(form, error, kind, position)
                return render_template("entry.html", form=form, kind=kind, number=number,
                                       version=request.form.get("version", "")), 422
            flash(f"Saved the {kind} \u201c{entry['name']}\u201d.")
            return redirect(url_for("schedule.index"))
    return render_template("entry.html", form=form, kind=kind, number=number, version=version(document))


def _change_entry(kind: str, number: int, change) -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    document = _document()
    if _stale(document):
        return redirect(url_for("schedule.index"))
    entries = document.get(kind, [])
    if not 1 <= number <= len(entries):
        abort(404, f"There is no {kind} number {number}: reload the schedule and try again.")
    message = change(entries, number - 1)
    try:
        _save(document)
        flash(message)
    except RequestError as error:
        flash(f"Not saved: {error}", "error")
    return redirect(url_for("schedule.index"))


@bp.route("/<any(window, exception):kind>/<int:number>/delete", methods=["POST"])
def delete(kind: str, number: int):
    def remove(entries, index):
        return f"Deleted the {kind} \u201c{entries.pop(index).get('name')}\u201d."
    return _change_entry(kind, number, remove)


@bp.route("/<any(window, exception):kind>/<int:number>/toggle", methods=["POST"])
def toggle(kind: str, number: int):
    def flip(entries, index):
        entry = entries[index]
        if entry.get("enabled", True):
            entry["enabled"] = False
            return f"Switched off the {kind} \u201c{entry.get('name')}\u201d."
        entry.pop("enabled", None)
        return f"Switched on the {kind} \u201c{entry.get('name')}\u201d."
    return _change_entry(kind, number, flip)


@bp.route("/zone", methods=["POST"])
def zone():
    document = _document()
    form = zone_form(document)
    if form.validate_on_submit():
        document.update(timezone=form.timezone.data, default=form.default.data)
        try:
            _save(document)
            flash(f"Time zone {form.timezone.data}; outside every window the mic is {form.default.data}.")
        except RequestError as error:
            flash(f"Not saved: {error}", "error")
    else:
        flash("Not saved: " + "; ".join(e for errors in form.errors.values() for e in errors), "error")
    back = "settings.index" if request.form.get("back") == "settings" else "schedule.index"
    return redirect(url_for(back))


@bp.route("/export")
def export():
    text = daemon.ask("schedule.get")["toml"]
    return Response(text, mimetype="application/toml",
                    headers={"Content-Disposition": "attachment; filename=mickill-schedule.toml"})


@bp.route("/import", methods=["POST"])
def import_():
    form = ImportForm()
    if form.validate_on_submit() and form.file.data:
        try:
            text = form.file.data.read().decode("utf-8")
        except UnicodeDecodeError:
            flash("Not imported: the file is not UTF-8 text; export a schedule to see the format.", "error")
            return redirect(url_for("schedule.index"))
        try:
            daemon.ask("schedule.set", toml=text)
            flash("Imported the schedule.")
        except RequestError as error:
            flash(f"Not imported, nothing changed: {error}", "error")
    else:
        flash("Not imported: choose a schedule file (.toml) first.", "error")
    return redirect(url_for("schedule.index"))
