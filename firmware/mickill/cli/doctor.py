"""`mickill doctor`: check a build (platform, config, wiring, clock, service, audio) and say
what to do about anything that is not right. Exit 0 only when no check failed."""

from pathlib import Path


def register(subparsers):
    parser = subparsers.add_parser("doctor", help="check the wiring, the config and the service")
    parser.add_argument("--config", metavar="FILE", help="hardware config (default: $MICKILL_CONFIG, "
                        "then /etc/mickill/mickill.toml if present, else built-in defaults)")
    parser.add_argument("--data", metavar="DIR", help="the daemon's data folder, to find its socket")
    parser.add_argument("--simulate", action="store_true", help="use simulated GPIO even on a Raspberry Pi")
    parser.add_argument("--click", action="store_true",
                        help="energize the relay for 0.3 s and check that it switched (the daemon must be stopped)")
    parser.add_argument("--button", action="store_true",
                        help="wait for a press of the button (or a flip of the switch) and measure its bounce")
    parser.add_argument("--button-timeout", type=_seconds, default=30.0, metavar="SECONDS",
                        help="how long --button waits (default 30)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.set_defaults(func=run)


def _seconds(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text} is out of range: give 0 < SECONDS <= 3600")
    return value


def _simulated_contacts(hardware, factory, config):
    """On simulated pins, let the relay's sense contact follow the coil as wiring would; on
    real pins, nothing: the real contacts answer."""
    from ..hardware import HardwareError
    from ..simpins import SimulatedWorld

    try:
        world = SimulatedWorld(hardware, factory, config)
    except HardwareError:
        return None
    return world.close


def run(args) -> int:
    from .. import doctor
    from ..paths import config_path

    options = doctor.Options(config_path=config_path(args.config),
                             data_dir=Path(args.data) if args.data else None,
                             simulate=args.simulate, click=args.click, button=args.button,
                             button_timeout=args.button_timeout)

    def announce(message):
        if not args.json:
            print(f"... {message}", flush=True)

    checks = doctor.run_checks(options, announce=announce, prepare=_simulated_contacts)
    print(doctor.format_json(checks) if args.json else doctor.format_text(checks))
    return 1 if doctor.failed(checks) else 0
