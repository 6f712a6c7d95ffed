"""The privacy ledger: when the mic was live, day by day over the last 7 or 30 days, as drawn
timelines, minutes live, the table of changes, and a CSV download."""

import csv
import io
from datetime import datetime, timedelta

from flask import Blueprint, Response, render_template, request

from . import daemon, timeline
from .display import clocks_change_on, source_words, when, zone_of
from .dashboard import status

bp = Blueprint("ledger", __name__, url_prefix="/ledger")
SPANS = (7, 30)


def _span() -> int:
    try:
        days = int(request.args.get("days", 7))
    except ValueError:
        days = 7
    return days if days in SPANS else 7


def _ledger(days: int):
    zone = zone_of(status())
    now = datetime.now(zone)
    first = now.date() - timedelta(days=days - 1)
    start, _ = timeline.day_bounds(first, zone)
    answer = daemon.ask("ledger", **{"from": start.isoformat(), "to": now.isoformat()})
    return zone, now, first, start, answer


@bp.route("")
def index():
    days = _span()
    zone, now, first, start, answer = _ledger(days)
    changes = answer.get("changes", [])
    # Before the first record mickill was not running: that time is not drawn at all.
    before = {"state": answer.get("state_before") or "unrecorded", "source": "before this period"}
    runs = [run for run in timeline.runs(before, changes, start, now) if run["state"] != "unrecorded"]
    live = {entry["date"]: entry["live_seconds"] for entry in answer.get("days", [])}
    rows = [{"date": day, "pieces": timeline.pieces_of_day(runs, day, zone),
             # Tenths: a live half minute must not read as "0 min".
             "live_minutes": round(live.get(day.isoformat(), 0) / 60, 1), "dst": clocks_change_on(day, zone)}
            for day in reversed(timeline.days(first, days))]
    table = [{**change, "when": when(change["at"], zone), "who": source_words(change.get("source"))}
             for change in reversed(changes)]
    return render_template("ledger.html", rows=rows, table=table, days=days, spans=SPANS, zone=str(zone))


@bp.route("/download.csv")
def download():
    days = _span()
    zone, _now, _first, _start, answer = _ledger(days)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["at", "state", "source", "reason"])
    for change in answer.get("changes", []):
        # Written as data, never as a formula a spreadsheet would run.
        writer.writerow([_cell(change.get(key, "")) for key in ("at", "state", "source", "reason")])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=mickill-ledger-{days}d.csv"})


def _cell(value) -> str:
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
