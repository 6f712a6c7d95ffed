"""The root of mickill's exceptions; every error a user can cause is one of these."""


class MickillError(Exception):
    """Something the user can fix; the message says what and how."""


class ScheduleError(MickillError):
    """A schedule document is invalid; names the entry and the field."""

    def __init__(self, message: str, *, entry: str | None = None, field: str | None = None):
        super().__init__(message)
        self.entry = entry
        self.field = field


class ConfigError(MickillError):
    """The hardware configuration file is invalid; names the key."""


class DurationError(MickillError):
    """A duration such as 90s, 15m or 2h could not be read."""


class Refused(MickillError):
    """The daemon understood a request and said no (for example a locked window).

    `code` is the control protocol's error code: locked, outranked, switch, clock, ...
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class DaemonUnavailable(MickillError):
    """No daemon answers on the control socket."""


class RequestError(MickillError):
    """The daemon rejected a request as malformed or invalid (not a policy refusal).

    `code` is the control protocol's error code; `entry` and `field` name what was wrong in a
    schedule or setting, when that is known.
    """

    def __init__(self, code: str, message: str, entry: str | None = None, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.entry = entry
        self.field = field
