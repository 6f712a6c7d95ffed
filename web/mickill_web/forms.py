"""The panel's forms (Flask-WTF, so each carries a CSRF token). Values are checked by the
daemon, which owns the rules; the forms only carry them."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (BooleanField, HiddenField, PasswordField, RadioField, SelectField,
                     SelectMultipleField, StringField, widgets)
from wtforms.validators import InputRequired, Length, ValidationError

# Choices as {value: label}: WTForms 3.3 deprecates lists of tuples.
DAY_CHOICES = {"mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu", "fri": "Fri", "sat": "Sat", "sun": "Sun"}
STATE_CHOICES = {"muted": "Muted (mic cut)", "live": "Live (mic on)"}


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class LoginForm(FlaskForm):
    password = PasswordField("Password", validators=[InputRequired("Type the password.")])


class SetupForm(FlaskForm):
    code = StringField("Setup code", validators=[InputRequired("Type the code that 'mickill setup-code' printed.")])
    password = PasswordField("New password", validators=[
        InputRequired("Choose a password."),
        Length(min=10, message="Use at least 10 characters.")])
    confirm = PasswordField("New password again", validators=[InputRequired("Type the password again.")])

    def validate_confirm(self, field):
        if field.data != self.password.data:
            raise ValidationError("The two passwords differ: type the same one twice.")


class PasswordForm(FlaskForm):
    old_password = PasswordField("Current password", validators=[InputRequired("Type the current password.")])
    new_password = PasswordField("New password", validators=[
        InputRequired("Choose a new password."), Length(min=10, message="Use at least 10 characters.")])


UNMUTE_CHOICES = {"900": "15 minutes", "3600": "1 hour", "next": "Until the next change"}


class UnmuteForm(FlaskForm):
    duration = RadioField("Unmute for", choices=UNMUTE_CHOICES, default="900")


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class WindowForm(FlaskForm):
    name = StringField("Name")
    days = MultiCheckboxField("Days", choices=DAY_CHOICES)
    start = StringField("Start (HH:MM)", render_kw={"type": "time"})
    end = StringField("End (HH:MM)", render_kw={"type": "time"})
    state = SelectField("State", choices=STATE_CHOICES)
    locked = BooleanField("Locked: only the physical button can open it")
    enabled = BooleanField("Enabled", default=True)

    # The document's keys, as the daemon names them in its error messages.
    FIELDS = {"name": "name", "days": "days", "start": "start", "end": "end", "state": "state",
              "locked": "locked", "enabled": "enabled"}


class ExceptionForm(FlaskForm):
    name = StringField("Name")
    first = StringField("From (date)", render_kw={"type": "date"})
    last = StringField("To (date, inclusive)", render_kw={"type": "date"})
    state = SelectField("State", choices=STATE_CHOICES)
    locked = BooleanField("Locked: only the physical button can open it")
    enabled = BooleanField("Enabled", default=True)

    FIELDS = {"name": "name", "from": "first", "to": "last", "state": "state", "locked": "locked",
              "enabled": "enabled"}


class ZoneForm(FlaskForm):
    timezone = SelectField("Time zone")
    default = SelectField("Outside every window the mic is", choices={"live": "Live", "muted": "Muted"})


class ImportForm(FlaskForm):
    file = FileField("Schedule file (TOML)")


class SettingsForm(FlaskForm):
    default_unmute_min = StringField("Default unmute (minutes)", render_kw={"inputmode": "numeric"})
    hold_s = StringField("Button hold inside a locked window (seconds)", render_kw={"inputmode": "decimal"})
    # Choices are set per page: the first one names the policy the config file gives now.
    clock_policy = SelectField("Before the clock is synchronised")
    shown = HiddenField()  # the values the page showed, so only what the owner changed is saved


class TokenForm(FlaskForm):
    name = StringField("Token name", validators=[InputRequired("Name what will use the token."),
                                                 Length(max=64, message="At most 64 characters.")])
