"""The commands that talk to a running daemon: status, mute, unmute, schedule, ledger, sim."""

import json
import sys
from pathlib import Path

from ..durations import parse_duration
from ..errors import MickillError


def _data_option(parser):
    parser.add_argument("--data", metavar="DIR", help="the daemon's data folder (default: $MICKILL_DATA)")


def register(subparsers):
    status = subparsers.add_parser("status", help="is the mic cut or live, and why")
    status.add_argument("--json", action="store_true", help="print the daemon's status object")
    _data_option(status)
    status.set_defaults(func=cmd_status)

    for verb, text in (("mute", "cut the mic now"), ("unmute", "open the mic for a while")):
        parser = subparsers.add_parser(verb, help=text)
        parser.add_argument("--for", dest="duration", metavar="DURATION", type=_duration,
                            help="how long, like 90s, 15m or 2h (mute: default until the schedule's "
                                 "next change; unmute: default the configured time, at most 12h)")
        _data_option(parser)
        parser.set_defaults(func=cmd_mute if verb == "mute" else cmd_unmute)

    clear = subparsers.add_parser("clear-fault", help="acknowledge a relay fault once it is fixed")
    _data_option(clear)
    clear.set_defaults(func=cmd_clear_fault)

    sched = subparsers.add_parser("schedule", help="show, import, export or validate the schedule")
    sched_sub = sched.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = sched_sub.add_parser("show", help="list the windows and exceptions")
    export = sched_sub.add_parser("export", help="print the schedule as TOML")
    load = sched_sub.add_parser("import", help="replace the schedule with a TOML file")
    check = sched_sub.add_parser("validate", help="check a TOML schedule file without applying it")
    for parser, func in ((show, cmd_schedule_show), (export, cmd_schedule_export),
                         (load, cmd_schedule_import), (check, cmd_schedule_validate)):
        if parser in (load, check):
            parser.add_argument("file", metavar="FILE")
        _data_option(parser)
        parser.set_defaults(func=func)

    book = subparsers.add_parser("ledger", help="when the mic was live: minutes per day and every change")
    book.add_argument("--days", type=_positive_int, default=7, help="how many days back (default 7)")
    book.add_argument("--json", action="store_true", help="print the daemon's answer as JSON")
    _data_option(book)
    book.set_defaults(func=cmd_ledger)

    sim = subparsers.add_parser("sim", help="drive the simulated hardware (simulated mode only)")
    sim_sub = sim.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, text in (("press", "press the virtual button"), ("release", "release it")):
        parser = sim_sub.add_parser(name, help=text)
        _data_option(parser)
        parser.set_defaults(func=cmd_sim, op=f"sim.{name}")
    hold = sim_sub.add_parser("hold", help="hold the virtual button for SECONDS, then release it")
    hold.add_argument("seconds", type=_positive_float)
    _data_option(hold)
    hold.set_defaults(func=cmd_sim, op="sim.hold")
    switch = sim_sub.add_parser("switch", help="flip the virtual switch")
    switch.add_argument("position", choices=("cut", "auto"))
    _data_option(switch)
    switch.set_defaults(func=cmd_sim, op="sim.switch")
    fault = sim_sub.add_parser("sense-fault", help="make the relay's sense contact stop following it")
    fault.add_argument("on", choices=("on", "off"))
    _data_option(fault)
    fault.set_defaults(func=cmd_sim, op="sim.sense_fault")


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except MickillError as exc:
        import argparse

        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_int(text: str) -> int:
    import argparse

    if not text.isdigit() or int(text) < 1 or int(text) > 400:
        raise argparse.ArgumentTypeError(f"expected a whole number of days from 1 to 400, not {text!r}")
    return int(text)


def _positive_float(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        value = -1
    if not 0 < value <= 60:
        raise argparse.ArgumentTypeError(f"expected seconds from 0 to 60, not {text!r}")
    return value


def _client(args):
    from ..control import Client
    from ..paths import data_dir, socket_path

    return Client(socket_path(data_dir(args.data)), source="cli", timeout=90)


def _when(text: str | None) -> str:
    return text.replace("T", " ") if text else "-"


def print_status(status: dict, out=sys.stdout):
    state = "CUT" if status["state"] == "muted" else "LIVE"
    locked = ""
    if status.get("switch") == "cut":
        locked = " (the switch is in its cut position: flip it to auto to allow unmuting)"
    elif status["locked"] and state == "CUT":
        locked = " (locked: only the button can open it)"
    print(f"mic:         {state}{locked}", file=out)
    print(f"why:         {status['reason']} [{status['source']}]", file=out)
    print(f"until:       {_when(status['until'])}", file=out)
    upcoming = status.get("next_change")
    if upcoming:
        word = "cut" if upcoming["state"] == "muted" else "live"
        print(f"next change: {_when(upcoming['at'])} -> {word}{' (locked)' if upcoming['locked'] else ''}",
              file=out)
    clock = status["clock"]
    print(f"clock:       {'trusted' if clock['trusted'] else 'NOT trusted (mic held cut)'}"
          f" (policy {clock['policy']})", file=out)
    print(f"fault:       {status['fault'] or 'none'}", file=out)
    if status.get("switch"):
        print(f"switch:      {status['switch']}", file=out)
    print(f"relay:       {status['relay']}; LED {status['led']}", file=out)
    if status["simulated"]:
        print(f"GPIO:        SIMULATED ({status.get('pins', '')})", file=out)


def cmd_status(args) -> int:
    with _client(args) as client:
        status = client.request("status")
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        print_status(status)
    return 0


def cmd_mute(args) -> int:
    fields = {"for": args.duration} if args.duration else {}
    with _client(args) as client:
        status = client.request("mute", **fields)
    print(f"mic CUT until {_when(status['until'])}" if status["until"] else "mic CUT")
    return 0


def cmd_unmute(args) -> int:
    fields = {"for": args.duration} if args.duration else {}
    with _client(args) as client:
        status = client.request("unmute", **fields)
    if status["state"] == "live":
        print(f"mic LIVE until {_when(status['until'])}" if status["until"] else "mic LIVE")
        return 0
    print(f"mic still CUT: {status['reason']}", file=sys.stderr)
    return 1


def cmd_clear_fault(args) -> int:
    with _client(args) as client:
        status = client.request("fault.clear")
    print_status(status)
    return 0


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MickillError(f"cannot read {path}: {exc.strerror if isinstance(exc, OSError) else exc}") from None


def cmd_schedule_show(args) -> int:
    with _client(args) as client:
        document = client.request("schedule.get")["schedule"]
    print(f"time zone: {document['timezone']}; outside every window the mic is "
          f"{'cut' if document.get('default') == 'muted' else 'live'}")
    for window in document.get("window", []):
        flags = (" locked" if window.get("locked") else "") + ("" if window.get("enabled", True) else " (disabled)")
        print(f"  window    {window['name']}: {','.join(window['days'])} {window['start']}-{window['end']} "
              f"{window['state']}{flags}")
    for entry in document.get("exception", []):
        flags = (" locked" if entry.get("locked") else "") + ("" if entry.get("enabled", True) else " (disabled)")
        print(f"  exception {entry['name']}: {entry['from']} to {entry['to']} {entry['state']}{flags}")
    return 0


def cmd_schedule_export(args) -> int:
    with _client(args) as client:
        sys.stdout.write(client.request("schedule.get")["toml"])
    return 0


def cmd_schedule_import(args) -> int:
    text = _read(args.file)
    with _client(args) as client:
        status = client.request("schedule.set", toml=text)
    print(f"schedule imported from {args.file}; mic now {'CUT' if status['state'] == 'muted' else 'LIVE'}")
    return 0


def cmd_schedule_validate(args) -> int:
    text = _read(args.file)
    with _client(args) as client:
        client.request("schedule.validate", toml=text)
    print(f"{args.file}: valid")
    return 0


def cmd_ledger(args) -> int:
    from datetime import datetime, timedelta, timezone

    from zoneinfo import ZoneInfo

    now = datetime.now(timezone.utc)
    with _client(args) as client:
        zone = ZoneInfo(client.request("status")["timezone"])
        # N local days: today and the N - 1 before it, from local midnight (a wall time the
        # daemon resolves in the schedule's zone, DST gaps included).
        first = now.astimezone(zone).date() - timedelta(days=args.days - 1)
        answer = client.request("ledger", **{"from": f"{first.isoformat()}T00:00", "to": now.isoformat()})
    if args.json:
        print(json.dumps(answer, indent=2))
        return 0
    print(f"minutes live per day ({answer['timezone']}):")
    for day in answer["days"]:
        print(f"  {day['date']}  {day['live_seconds'] / 60:7.1f} min")
    print("changes:")
    if not answer["changes"]:
        before = answer["state_before"]
        print("  none; " + ({"muted": "the mic was cut throughout", "live": "the mic was live throughout"}
                            .get(before, "nothing was recorded in this period")))
    for change in answer["changes"]:
        word = "CUT " if change["state"] == "muted" else "LIVE"
        print(f"  {_when(change['at'])}  {word}  {change['source']}: {change['reason']}")
    return 0


def cmd_sim(args) -> int:
    fields = {}
    if args.op == "sim.hold":
        fields["seconds"] = args.seconds
    elif args.op == "sim.switch":
        fields["position"] = args.position
    elif args.op == "sim.sense_fault":
        fields["on"] = args.on == "on"
    with _client(args) as client:
        status = client.request(args.op, **fields)
    print_status(status)
    return 0

