"""The hardware config: defaults, the packaged sample, and a named error for every bad input."""

import tomllib

import pytest

from mickill import config
from mickill.config import Config, ConfigError


def test_no_path_gives_the_defaults():
    loaded = config.load(None)
    assert loaded == Config()
    assert (loaded.relay.pin, loaded.relay.active_high, loaded.relay.wiring) == (17, True, "power")
    assert (loaded.control.kind, loaded.control.pin, loaded.control.pull_up) == ("button", 27, True)
    assert loaded.led.pin == 22 and loaded.sense.pin is None and loaded.clock.policy is None
    assert loaded.web.bind == "127.0.0.1:8080" and loaded.extra == {}


def test_an_empty_file_gives_the_defaults(config_file):
    assert config.load(config_file("")) == Config()


def test_the_packaged_sample_loads_to_exactly_the_defaults(config_file):
    assert config.load(config_file(config.sample_text())) == Config()


def test_the_sample_documents_every_key():
    text = config.sample_text()
    for section, kind in config._SECTIONS.items():
        assert f"[{section}]" in text
        for field in kind.__dataclass_fields__:
            assert f"{field} =" in text, f"{section}.{field} missing from the sample"
    assert "# pin = 23" in text and "# [audio]" in text


def test_a_full_file_is_read(config_file):
    loaded = config.load(config_file("""
[relay]
pin = 5
active_high = false
wiring = "mic"
[control]
kind = "switch"
pin = 6
pull_up = false
debounce_ms = 500
[led]
pin = "none"
[sense]
pin = 23
active_high = false
fault_ms = 50
[clock]
policy = "trust"
sync_file = "/tmp/synced"
kernel = false
[web]
bind = "[::1]:9000"
[audio]
anything = [1, 2]
"""))
    assert loaded.relay == config.RelayConfig(5, False, "mic")
    assert loaded.control == config.ControlConfig("switch", 6, False, 500)
    assert loaded.led.pin is None
    assert loaded.sense == config.SenseConfig(23, False, 50)
    assert loaded.clock == config.ClockConfig("trust", "/tmp/synced", False)
    assert loaded.web.bind == "[::1]:9000"
    assert loaded.extra == {"audio": {"anything": [1, 2]}}


@pytest.mark.parametrize("bind", ["0.0.0.0:8080", "mickill.local:80", "localhost:65535", "[::]:1"])
def test_good_bind_addresses(bind):
    assert config.parse({"web": {"bind": bind}}).web.bind == bind


BAD = [
    # (document, words the message must contain)
    ({"speaker": {}}, ["unknown section [speaker]"]),
    ({"relay": 17}, ["relay must be a table"]),
    ({"audio": "loud"}, ["[audio] must be a table"]),
    ({"relay": {"pins": 17}}, ["unknown key relay.pins", "pin, active_high, wiring"]),
    ({"relay": {"pin": 28}}, ["relay.pin", "0 to 27", "28"]),
    ({"relay": {"pin": -1}}, ["relay.pin", "0 to 27"]),
    ({"relay": {"pin": "17"}}, ["relay.pin", "BCM GPIO number"]),
    ({"relay": {"pin": True}}, ["relay.pin", "BCM GPIO number"]),
    ({"relay": {"pin": "none"}}, ["relay.pin", "BCM GPIO number"]),
    ({"relay": {"active_high": "yes"}}, ["relay.active_high", "true or false"]),
    ({"relay": {"active_high": 1}}, ["relay.active_high", "true or false"]),
    ({"relay": {"wiring": "speaker"}}, ["relay.wiring", '"power" or "mic"']),
    ({"relay": {"wiring": 1}}, ["relay.wiring", "string"]),
    ({"control": {"kind": "toggle"}}, ["control.kind", '"button" or "switch"']),
    ({"control": {"pull_up": "up"}}, ["control.pull_up", "true or false"]),
    ({"control": {"debounce_ms": 0}}, ["control.debounce_ms", "1 to 500"]),
    ({"control": {"debounce_ms": 501}}, ["control.debounce_ms", "1 to 500"]),
    ({"control": {"debounce_ms": 30.0}}, ["control.debounce_ms", "integer"]),
    ({"led": {"pin": 99}}, ["led.pin", "0 to 27"]),
    ({"led": {"pin": "off"}}, ["led.pin", '"none"']),
    ({"sense": {"pin": 1.5}}, ["sense.pin", "BCM GPIO number"]),
    ({"sense": {"fault_ms": 0}}, ["sense.fault_ms", "1 to 10000"]),
    ({"clock": {"policy": "ntp"}}, ["clock.policy", '"wait-sync", "trust" or "auto"']),
    ({"clock": {"sync_file": "relative/file"}}, ["clock.sync_file", "absolute path"]),
    ({"clock": {"kernel": "no"}}, ["clock.kernel", "true or false"]),
    ({"web": {"bind": "8080"}}, ["web.bind", "host:port"]),
    ({"web": {"bind": "localhost:0"}}, ["web.bind", "1..65535"]),
    ({"web": {"bind": "localhost:http"}}, ["web.bind", "host:port"]),
    ({"web": {"bind": ":8080"}}, ["web.bind", "host:port"]),
    ({"web": {"bind": "bad host:80"}}, ["web.bind", "invalid host"]),
    ({"web": {"bind": "[::g]:80"}}, ["web.bind", "IPv6"]),
    ({"web": {"bind": 8080}}, ["web.bind", "string"]),
    ({"led": {"pin": 17}}, ["led.pin", "BCM 17", "relay.pin"]),
    ({"control": {"pin": 22}}, ["led.pin", "BCM 22", "control.pin"]),
    ({"sense": {"pin": 27}}, ["sense.pin", "BCM 27", "control.pin"]),
]


@pytest.mark.parametrize("document, words", BAD, ids=[repr(d) for d, _ in BAD])
def test_bad_input_is_named(document, words):
    with pytest.raises(ConfigError) as raised:
        config.parse(document, origin="here.toml")
    message = str(raised.value)
    assert message.startswith("here.toml: ")
    for word in words:
        assert word in message


def test_a_freed_pin_may_be_reused():
    # With the LED removed, its pin is free for the sense input.
    loaded = config.parse({"led": {"pin": "none"}, "sense": {"pin": 22}})
    assert (loaded.led.pin, loaded.sense.pin) == (None, 22)


def test_a_missing_file_says_which_and_how_to_create_it(tmp_path):
    missing = tmp_path / "etc" / "mickill.toml"
    with pytest.raises(ConfigError) as raised:
        config.load(missing)
    message = str(raised.value)
    assert str(missing) in message and "no such config file" in message
    # The suggested source is the real, readable sample.
    assert str(config.sample_path()) in message
    assert config.sample_path().read_text(encoding="utf-8") == config.sample_text()


def test_a_toml_syntax_error_gives_the_line(config_file):
    path = config_file("[relay]\npin = 17\nactive_high = yes\n")
    with pytest.raises(ConfigError) as raised:
        config.load(path)
    assert str(path) in str(raised.value) and "line 3" in str(raised.value)


def test_a_validation_error_in_a_file_names_the_file(config_file):
    path = config_file("[relay]\npin = 40\n")
    with pytest.raises(ConfigError, match=r"mickill\.toml: relay\.pin"):
        config.load(path)


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes("# caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="UTF-8"):
        config.load(path)


def test_the_config_error_is_a_mickill_error():
    from mickill.errors import MickillError

    assert issubclass(ConfigError, MickillError)
    assert tomllib.loads(config.sample_text())  # the sample is valid TOML on its own
