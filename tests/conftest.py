"""Fixtures shared by the whole suite: a fresh gpiozero mock factory and config files on disk."""

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory


@pytest.fixture
def mock_factory():
    """A fresh MockFactory as gpiozero's default, restored (and its pins reset) afterwards."""
    saved = Device.pin_factory
    Device.pin_factory = MockFactory()
    try:
        yield Device.pin_factory
    finally:
        Device.pin_factory.reset()
        Device.pin_factory = saved


@pytest.fixture
def config_file(tmp_path):
    """write(text, name="mickill.toml") -> Path: a real TOML config file in tmp_path."""

    def write(text: str, name: str = "mickill.toml"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def start_daemon(tmp_path):
    """start(name="daemon", **options) -> a running DaemonProcess; all are stopped afterwards."""
    from daemon_harness import DaemonProcess

    started = []

    def start(name: str = "daemon", **options):
        daemon = DaemonProcess(tmp_path / name, **options).start()
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.stop()
