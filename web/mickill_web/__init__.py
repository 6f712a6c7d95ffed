"""mickill's web panel: a Flask app that is a client of the daemon's control socket and never
touches GPIO. `create_app()` builds it; `mickill web` serves it with waitress."""

from datetime import timedelta

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from mickill.paths import data_dir


def create_app(test_config: dict | None = None) -> Flask:
    from . import (api, auth, daemon, dashboard, display, errors, ledger_views, schedule_views,
                   security, settings_views, simulator)

    app = Flask(__name__)
    app.config.from_mapping(
        MICKILL_DATA=None,
        SECRET_KEY=None,
        DAEMON_TIMEOUT=10.0,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_NAME="mickill_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,   # the token lives as long as the session it is bound to
        MAX_CONTENT_LENGTH=256 * 1024,
    )
    if test_config:
        app.config.update(test_config)
    app.config["MICKILL_DATA"] = data_dir(app.config["MICKILL_DATA"])
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = security.secret_key()

    security.init_app(app)
    daemon.init_app(app)
    display.init_app(app)
    errors.init_app(app)
    auth.init_app(app)  # before CSRF: a stranger is sent to login, not told about tokens
    csrf = CSRFProtect(app)
    for module in (auth, dashboard, schedule_views, ledger_views, settings_views, simulator):
        app.register_blueprint(module.bp)
    # The API authenticates by bearer token, never by cookie, so a forged cross-site form
    # cannot use it: CSRF tokens do not apply there.
    csrf.exempt(api.bp)
    app.register_blueprint(api.bp)
    return app
