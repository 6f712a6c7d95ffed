"""`mickill run`: start the daemon. The relay is put in its safe state before anything slow."""

import sys
from pathlib import Path


def register(subparsers):
    parser = subparsers.add_parser("run", help="run the daemon that owns the relay")
    parser.add_argument("--config", metavar="FILE", help="hardware config (default: $MICKILL_CONFIG, "
                        "then /etc/mickill/mickill.toml if present, else built-in defaults)")
    parser.add_argument("--data", metavar="DIR", help="data folder (default: $MICKILL_DATA or ~/.local/share/mickill)")
    parser.add_argument("--simulate", action="store_true", help="use simulated GPIO even on a Raspberry Pi")
    parser.add_argument("--no-web", action="store_true", help="do not start the web panel beside the daemon")
    parser.add_argument("--verbose", "-v", action="store_true", help="log every request and decision")
    parser.set_defaults(func=run)


def run(args) -> int:
    import logging

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    log = logging.getLogger("mickill")
    from .. import config as hardware_config
    from .. import hardware

    from ..paths import config_path

    config = hardware_config.load(config_path(args.config))
    factory, simulated, why = hardware.choose_pin_factory(True if args.simulate else None)
    devices = hardware.Hardware(config, factory)   # the relay starts de-energized: mic cut
    print(f"mickill: relay on BCM {config.relay.pin} in its safe state (mic cut)", file=sys.stderr, flush=True)

    import signal

    if not simulated:
        log.info("GPIO through %s", why)

    from ..daemon import Daemon
    from ..paths import data_dir, database_path, socket_path
    from ..store import Store

    folder = data_dir(args.data)
    folder.mkdir(mode=0o750, parents=True, exist_ok=True)
    lock = _lock_data_folder(folder)   # before the store is touched: one owner per folder
    world = None
    if simulated:
        from ..simpins import SimulatedWorld

        world = SimulatedWorld(devices, factory, config)
    store = Store(database_path(folder))
    daemon = Daemon(config=config, data_dir=folder, hardware=devices, store=store, simulated=simulated,
                    world=world, factory_reason=why)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: daemon.stop())
    helpers = []
    try:
        daemon.start()
        log.info("control socket %s; data in %s", socket_path(folder), folder)
        _log_setup_code(daemon, log)
        if not args.no_web:
            helpers.append(_start_panel(args, folder))
        helpers.append(_start_audio(config, folder, log))
        daemon.run()
    finally:
        for helper in filter(None, helpers):
            helper.stop()
        daemon.close()        # cuts the relay first, then closes the ledger
        if world is not None:
            world.close()
        devices.close()
        store.close()
        log.info("stopped; the relay is released and the mic is cut")
    return 0


def _lock_data_folder(folder: Path):
    import fcntl

    from ..errors import MickillError

    handle = open(folder / "mickill.lock", "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise MickillError(f"another mickill daemon is already running on {folder}") from None
    return handle  # held until this process exits


def _log_setup_code(daemon, log):
    from .. import accounts

    code = accounts.startup_code(daemon.store, daemon.clock.now())
    if code:
        log.warning("web panel setup code: %s (or run 'mickill setup-code')", code)


class _Child:
    def __init__(self, process):
        self.process = process

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except Exception:
                self.process.kill()


def _start_panel(args, folder):
    import importlib.util
    import subprocess

    if importlib.util.find_spec("mickill_web") is None:
        return None
    command = [sys.executable, "-m", "mickill.cli.main", "web", "--data", str(folder)]
    if args.config:
        command += ["--config", args.config]
    return _Child(subprocess.Popen(command))


def _start_audio(config, folder, log):
    section = config.extra.get("audio")
    if not section:
        return None
    from ..paths import socket_path

    try:
        from ..audio import service

        handle = service.start(config, socket_path(folder))
    except Exception as exc:  # no microphone or no PyAudio: the relay's owner carries on without
        log.error("audio is configured but could not start (%s); running without it", exc)
        return None
    return handle  # None when [audio] enables nothing; it has stop() like the panel's child
