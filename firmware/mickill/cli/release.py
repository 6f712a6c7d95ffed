"""`mickill release-relay`: drive the relay to its safe state (mic cut) without a daemon.

The service runs it after the daemon stops for any reason (ExecStopPost), because after a crash
the GPIO line may keep its last level until somebody drives it again.
"""

import sys


def register(subparsers):
    parser = subparsers.add_parser("release-relay", help="cut the mic at the relay, without the daemon "
                                   "(the service runs this after the daemon stops)")
    parser.add_argument("--config", metavar="FILE", help="hardware config (as for mickill run)")
    parser.add_argument("--simulate", action="store_true", help="use simulated GPIO")
    parser.set_defaults(func=run)


def run(args) -> int:
    from .. import config as hardware_config
    from .. import hardware
    from .run import config_path

    config = hardware_config.load(config_path(args.config))
    factory, _simulated, why = hardware.choose_pin_factory(True if args.simulate else None)
    devices = hardware.Hardware(config, factory)  # created de-energized: mic cut
    live = devices.relay_live
    devices.close()
    print(f"mickill: relay on BCM {config.relay.pin} released (mic cut) through {why}", file=sys.stderr)
    return 0 if not live else 1
