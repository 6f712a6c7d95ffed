"""`mickill web` serves the panel with waitress; `mickill setup-code` asks the daemon for the
one-time code that claims the panel on first use."""

import sys

DEFAULT_BIND = "127.0.0.1:8080"


def register(subparsers) -> None:
    web = subparsers.add_parser("web", help="serve the web panel (a client of the running daemon)")
    web.add_argument("--config", help="hardware config file; its [web] bind is the address to serve on")
    web.add_argument("--data", help="the daemon's data folder (where its control socket is)")
    web.add_argument("--bind", help=f"HOST:PORT to serve on (default: the config's, else {DEFAULT_BIND}); port 0 picks a free one")
    # Few threads serve a GIL-bound app best: under 20 clients, 4 gave a p99 a third lower than 16.
    web.add_argument("--threads", type=int, default=4, help="worker threads (default 4)")
    web.set_defaults(func=run_web)

    code = subparsers.add_parser("setup-code", help="print a one-time code to set the panel's password")
    code.add_argument("--data", help="the daemon's data folder (where its control socket is)")
    code.set_defaults(func=run_setup_code)


def split_bind(bind: str) -> tuple[str, int]:
    from ..errors import MickillError

    host, sep, port = bind.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise MickillError(f"--bind wants HOST:PORT such as 127.0.0.1:8080 or [::]:8080, got {bind!r}")
    return host, int(port)


def run_web(args) -> int:
    import logging

    from waitress import create_server

    from mickill_web import create_app

    from ..errors import MickillError
    from ..paths import data_dir

    bind = args.bind
    if bind is None and args.config:
        from ..config import load

        bind = load(args.config).web.bind
    host, port = split_bind(bind or DEFAULT_BIND)
    app = create_app({"MICKILL_DATA": data_dir(args.data)})
    # A queue of waiting requests is normal under load, not worth a log line per request.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    try:
        server = create_server(app, host=host, port=port, threads=max(1, args.threads), ident="mickill")
    except OSError as error:
        raise MickillError(f"the panel cannot listen on {host}:{port} ({error.strerror}); "
                           "stop what uses that port or choose another with --bind HOST:PORT") from None
    shown = f"[{host}]" if ":" in host else host
    print(f"mickill web panel: http://{shown}:{server.effective_port}/", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


def run_setup_code(args) -> int:
    from ..control import Client
    from ..errors import MickillError, RequestError
    from ..paths import data_dir, socket_path

    with Client(socket_path(data_dir(args.data)), source="cli") as client:
        try:
            answer = client.request("auth.setup_code")
        except RequestError as error:
            raise MickillError(str(error)) from None
    print(answer["code"])
    print(f"valid once, until {answer['expires']}: type it on the panel's setup page", file=sys.stderr)
    return 0
