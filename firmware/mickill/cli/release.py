"""`mickill release-relay`: drive the relay to its safe state (mic cut) without a daemon.

The service runs it after the daemon stops for any reason (ExecStopPost), because after a crash
the GPIO line may keep its last level until somebody drives it again.
"""

import sys
from pathlib import Path


def register(subparsers):
    parser = subparsers.add_parser("release-relay", help="cut the mic at the relay, without the daemon "
                                   "(the service runs this after the daemon stops)")
    parser.add_argument("--config", metavar="FILE", help="hardware config (as for mickill run)")
    parser.add_argument("--simulate", action="store_true", help="use simulated GPIO")
    parser.add_argument("--data", metavar="DIR", help="the daemon's data folder: the cut is recorded in its ledger")
    parser.set_defaults(func=run)


def run(args) -> int:
    from .. import config as hardware_config
    from .. import hardware
    from ..paths import config_path

    config = hardware_config.load(config_path(args.config))
    factory, _simulated, why = hardware.choose_pin_factory(True if args.simulate else None)
    devices = hardware.Hardware(config, factory)  # created de-energized: mic cut
    live = devices.relay_live
    devices.close()
    print(f"mickill: relay on BCM {config.relay.pin} released (mic cut) through {why}", file=sys.stderr)
    if args.data:
        _record(Path(args.data))
    return 0 if not live else 1


def _record(folder: Path):
    """Close a live period the stopped daemon left open, so the ledger ends it now, not at the
    next start. Only after the cut, and never an error that matters: the mic is cut already."""
    from datetime import datetime, timezone

    from ..paths import database_path
    from ..store import Store

    path = database_path(folder)
    if not path.exists():
        return
    try:
        with Store(path) as store:
            now = datetime.now(timezone.utc)
            last = store.last_change_before(now)
            if last is not None and last.state == "live":
                store.record_change(now, "muted", "system", "relay released after mickill stopped")
    except Exception as exc:  # a locked or damaged database must not make the release fail
        print(f"mickill: the cut could not be recorded in {path}: {exc}", file=sys.stderr)
