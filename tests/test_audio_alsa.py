"""The real PyAudio path: PortAudio through an ALSA `file` plugin, in subprocesses with their own
HOME (ALSA reads ~/.asoundrc once per process). Also the privacy properties of a gate run."""

import os
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from audio_fixtures import RATE, double_knock, to_int16
from test_audio_gate import daemon, wait_for  # noqa: F401  (the daemon fixture)

pytest.importorskip("pyaudio")


def alsa_home(tmp_path, infile=None, outfile="/dev/null"):
    """A HOME whose default PCM reads `infile` (raw S16_LE mono) and writes to `outfile`."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    lines = ['pcm.!default {', '  type file', '  slave.pcm "null"', f'  file "{outfile}"', '  format "raw"']
    if infile:
        lines.append(f'  infile "{infile}"')
    (home / ".asoundrc").write_text("\n".join(lines + ["}"]) + "\n")
    return {**os.environ, "HOME": str(home)}


def test_knocks_captured_through_a_real_pyaudio_stream_are_detected(tmp_path):
    x, second = double_knock(np.random.default_rng(9), seconds=5, gap=0.4, level_db=20)
    (tmp_path / "in.raw").write_bytes(to_int16(x).tobytes())
    (tmp_path / "audio.toml").write_text("[audio]\nenabled = true\n")
    result = subprocess.run([sys.executable, "-m", "mickill.cli.main", "audio", "listen", "--seconds", "5",
                             "--config", str(tmp_path / "audio.toml")],
                            env=alsa_home(tmp_path, tmp_path / "in.raw"), capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    times = [float(line.split()[0]) for line in result.stdout.splitlines() if "knock" in line]
    assert len(times) == 1 and abs(times[0] - second) < 0.03


PLAY = """
import sys, time
from mickill.audio.masking import Masker
from mickill.audio.output import Output
out = Output(Masker(16000, -30.0, seed=3))
out.set_masking(True)
time.sleep(2.0)
out.close(fade=True)
"""


def test_masking_noise_played_to_a_file_is_speech_band_at_the_set_level_without_clicks(tmp_path):
    raw = tmp_path / "out.raw"
    result = subprocess.run([sys.executable, "-c", PLAY], env=alsa_home(tmp_path, outfile=raw),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    y = np.frombuffer(raw.read_bytes(), "<i2").astype(np.float64)
    active = np.flatnonzero(y)
    start, end = active[0], active[-1]
    steady = y[start + RATE // 2: end - RATE // 2]
    assert len(steady) > RATE // 2
    level = 20 * np.log10(np.sqrt(np.mean(steady ** 2)) / 32767)
    assert abs(level - -30.0) < 1.0
    spectrum = np.abs(np.fft.rfft(steady)) ** 2
    f = np.fft.rfftfreq(len(steady), 1 / RATE)
    assert spectrum[(f >= 300) & (f <= 4000)].sum() / spectrum.sum() > 0.9
    typical = np.percentile(np.abs(np.diff(steady)), 99)
    assert np.abs(np.diff(y[start: start + RATE // 100])).max() < 0.1 * typical   # fade in
    assert np.abs(np.diff(y[end - RATE // 100: end + 1])).max() < 0.1 * typical   # fade out


def listing(folder):
    return {p: p.stat().st_size for p in folder.rglob("*") if p.is_file()}


def unix_socket_inodes():
    with open("/proc/net/unix") as table:
        return {line.split()[6] for line in table.readlines()[1:]}


def test_a_gate_run_keeps_no_audio_and_opens_no_network_socket(tmp_path, daemon):  # noqa: F811
    x, _ = double_knock(np.random.default_rng(4), seconds=5, gap=0.3, level_db=25)
    audio_in = tmp_path / "in.raw"
    audio_in.write_bytes(to_int16(x).tobytes())
    config = tmp_path / "audio.toml"
    config.write_text('[relay]\nwiring = "mic"\n[audio]\nenabled = true\nwindow_s = 5\n')
    from test_audio_gate import MUTED, ask
    ask(daemon, "schedule.set", toml=MUTED)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    before_data, before_tmp = listing(daemon), listing(tmp)
    env = {**alsa_home(tmp_path, audio_in), "TMPDIR": str(tmp)}
    process = subprocess.Popen([sys.executable, "-m", "mickill.cli.main", "audio", "run", "--seconds", "8",
                                "--config", str(config), "--data", str(daemon)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: ask(daemon, "status")["state"] == "live", 10), "the knock did not open"
        fds = [os.readlink(f"/proc/{process.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{process.pid}/fd")]
        unix = unix_socket_inodes()
        network = set()
        for table in ("tcp", "tcp6", "udp", "udp6"):
            with open(f"/proc/net/{table}") as net:
                network |= {line.split()[9] for line in net.readlines()[1:]}
    finally:
        process.wait(timeout=20)
    sockets = {target[len("socket:["):-1] for target in fds if target.startswith("socket:")}
    assert sockets and sockets <= unix            # every socket it held is AF_UNIX...
    assert not sockets & network                  # ...and none is TCP or UDP
    assert not any(str(tmp) in target or target.endswith((".wav", ".raw")) and "in.raw" not in target
                   for target in fds)
    assert listing(tmp) == before_tmp == {}
    grown = {p: size for p, size in listing(daemon).items() if size != before_data.get(p)}
    assert all(p.name.startswith("mickill.db") for p in grown), grown
    with sqlite3.connect(daemon / "mickill.db") as db:
        for table, in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            columns = [c[1] for c in db.execute(f"PRAGMA table_info({table})")]
            for row in db.execute(f"SELECT * FROM {table}"):
                assert not any(isinstance(v, bytes) for v in row), table
                assert len(repr(row)) < 600, (table, row)
    assert ask(daemon, "events", kind="audio.detection")["events"]
