"""`mickill plan`: the schedule's changes over a range of time, from a schedule file, no daemon."""

import json

from ..errors import MickillError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="list when a schedule file mutes and unmutes the mic",
        description="List the state at --from and every change of state until --to. Times are "
        "ISO 8601; without an offset they are local times of the schedule's zone.",
    )
    parser.add_argument("--schedule", required=True, metavar="FILE", help="the schedule, a TOML file")
    parser.add_argument("--from", dest="start", required=True, metavar="T1", help="start, e.g. 2027-03-27T00:00")
    parser.add_argument("--to", dest="end", required=True, metavar="T2", help="end (not included)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per line")
    parser.set_defaults(func=run)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except OSError as error:
        raise MickillError(f"cannot read the schedule file {path}: {error.strerror}; check the path and its permissions") from None
    except UnicodeDecodeError:
        raise MickillError(f"the schedule file {path} is not UTF-8 text; save it as UTF-8") from None


def run(args) -> int:
    # Imported here: every mickill command loads this module, and only `plan` needs the schedule.
    from .. import schedule as sched

    try:
        schedule = sched.loads(_read(args.schedule))
    except sched.ScheduleError as error:
        raise sched.ScheduleError(f"{args.schedule}: {error}", entry=error.entry, field=error.field) from None
    zone = schedule.zone
    start = sched.parse_instant(args.start, zone)
    end = sched.parse_instant(args.end, zone)
    # Compared in UTC: datetimes sharing a zone compare by wall time, which repeats in autumn.
    if end.astimezone(sched.UTC) <= start.astimezone(sched.UTC):
        raise MickillError(
            f"--to {args.end} is not after --from {args.start}; give an end later than the start"
        )
    changes = sched.plan(schedule, start, end)
    if args.json:
        for change in changes:
            print(json.dumps({"at": sched.format_instant(change.at, zone), "state": change.state, "locked": change.locked}))
        return 0
    print(f"{'when (' + schedule.timezone + ')':<32} {'state':<6} locked")
    for change in changes:
        local = change.at.astimezone(zone)
        when = f"{local:%Y-%m-%d %a %H:%M:%S} {local.isoformat(timespec='seconds')[19:]}"
        print(f"{when:<32} {change.state:<6} {'yes' if change.locked else 'no'}")
    return 0
