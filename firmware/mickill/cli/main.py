"""`mickill`: parse the command line and hand over to a command module.

Every command module in this package has `register(subparsers)`, which adds its parsers with
`set_defaults(func=...)`; the function takes the parsed arguments and returns the exit status.
Command modules import heavy things inside their functions so that `mickill plan` stays fast.
"""

import argparse
import importlib
import os
import sys

from ..errors import DaemonUnavailable, MickillError, Refused

# Exit statuses: 1 refused by the daemon, 2 bad input, 3 no daemon running.
EXIT_REFUSED, EXIT_BAD_INPUT, EXIT_NO_DAEMON = 1, 2, 3

COMMAND_MODULES = [
    "run",
    "client",
    "plan",
    "audio",
    "web",
    "doctor",
    "release",
]


class _Parser(argparse.ArgumentParser):
    """argparse, but bad usage is one line and exit status 2, like every other bad input."""

    def error(self, message):
        self.exit(EXIT_BAD_INPUT, f"mickill: {message} (see mickill --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mickill", description="Physical control over a smart speaker's microphone.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{name}").register(subparsers)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Refused as refusal:
        print(f"mickill: refused ({refusal.code}): {refusal}", file=sys.stderr)
        return EXIT_REFUSED
    except DaemonUnavailable as error:
        print(f"mickill: {error}", file=sys.stderr)
        return EXIT_NO_DAEMON
    except MickillError as error:
        print(f"mickill: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OverflowError:
        print("mickill: a date, time or duration is out of range", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # The reader went away (mickill status | head): stop quietly, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
