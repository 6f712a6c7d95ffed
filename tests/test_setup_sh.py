"""setup.sh: its modes, run for real against a temporary system root with logging stand-ins
for the commands that would change the machine (useradd, systemctl, apt-get, ...)."""

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SETUP = REPO / "setup.sh"
CI_RUN = REPO / ".ci" / "run"
SAMPLE = REPO / "firmware" / "mickill" / "mickill.sample.toml"
UNIT_SOURCES = {
    "mickill.service": REPO / "firmware" / "systemd" / "mickill.service",
    "mickill-web.service": REPO / "web" / "systemd" / "mickill-web.service",
}

# One program behind every stand-in name. It logs "NAME ARGS" and keeps users, groups and
# Debian packages in small files, so getent and dpkg-query see what useradd and apt-get did.
STUB = textwrap.dedent(
    """\
    import os, sys
    from pathlib import Path

    name, args = Path(sys.argv[0]).name, sys.argv[1:]
    state = Path(os.environ["STUB_STATE"])
    with open(os.environ["STUB_LOG"], "a") as log:
        log.write(" ".join([name, *args]) + "\\n")
    if os.environ.get("STUB_FAIL") and " ".join([name, *args]).startswith(os.environ["STUB_FAIL"]):
        sys.exit(100)

    def table(kind):
        lines = (state / kind).read_text().splitlines()
        return {line.split(":")[0]: line.split(":") for line in lines if line}

    def save(kind, rows):
        (state / kind).write_text("".join(":".join(r) + "\\n" for r in rows.values()))

    def members(groups, group, user, add):
        row = groups[group]
        names = [n for n in row[3].split(",") if n and n != user] + ([user] if add else [])
        row[3] = ",".join(names)

    if name == "getent":
        row = table(args[0]).get(args[1])
        if row is None:
            sys.exit(2)
        print(":".join(row))
    elif name == "groupadd":
        groups = table("group")
        if args[-1] in groups:
            sys.exit(9)
        groups[args[-1]] = [args[-1], "x", "990", ""]
        save("group", groups)
    elif name == "groupdel":
        groups = table("group")
        del groups[args[-1]]
        save("group", groups)
    elif name == "useradd":
        user, users, groups = args[-1], table("passwd"), table("group")
        if user in users:
            sys.exit(9)
        opts, i = {}, 0
        while i < len(args) - 1:
            if args[i] in ("--gid", "--groups", "--home-dir", "--shell", "--comment"):
                opts[args[i]] = args[i + 1]
                i += 1
            i += 1
        if opts["--gid"] not in groups or any(g not in groups for g in opts["--groups"].split(",")):
            print("useradd: group does not exist", file=sys.stderr)
            sys.exit(6)
        users[user] = [user, "x", "990", "990", "", opts["--home-dir"], opts["--shell"]]
        for group in opts["--groups"].split(","):
            members(groups, group, user, True)
        save("passwd", users)
        save("group", groups)
    elif name == "userdel":
        users, groups = table("passwd"), table("group")
        del users[args[-1]]
        for group in groups:
            members(groups, group, args[-1], False)
        save("passwd", users)
        save("group", groups)
    elif name == "usermod":
        groups = table("group")
        members(groups, args[args.index("--groups") + 1], args[-1], True)
        save("group", groups)
    elif name == "gpasswd":
        groups = table("group")
        members(groups, args[-1], args[-2], False)
        save("group", groups)
    elif name == "apt-get" and "install" in args:
        with open(state / "dpkg", "a") as dpkg:
            dpkg.writelines(a + "\\n" for a in args if not a.startswith("-") and a != "install")
    elif name == "dpkg-query":
        if args[-1] not in (state / "dpkg").read_text().split():
            sys.exit(1)
        print("install ok installed", end="")
    elif name == "id":
        print(os.environ.get("STUB_UID", "0"))
    """
)
STUB_NAMES = ["getent", "groupadd", "groupdel", "useradd", "userdel", "usermod", "gpasswd",
              "apt-get", "dpkg-query", "systemctl", "chown", "id"]


class System:
    """A temporary system root plus the stand-ins' log and state."""

    def __init__(self, base: Path):
        self.root = base / "root"
        for folder in ("etc/systemd/system", "opt", "var/lib"):
            (self.root / folder).mkdir(parents=True)
        self.state = base / "state"
        self.state.mkdir()
        (self.state / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
        (self.state / "group").write_text("root:x:0:\naudio:x:29:\n")
        (self.state / "dpkg").write_text("")
        self.log = base / "commands.log"
        self.log.write_text("")
        bin_dir = base / "bin"
        bin_dir.mkdir()
        program = base / "stub.py"
        # The wrapper passes its own path first: its name says which command to play.
        program.write_text("import sys; sys.argv = sys.argv[1:]\n" + STUB)
        for name in STUB_NAMES:
            (bin_dir / name).write_text(f'#!/bin/sh\nexec "{sys.executable}" "{program}" "$0" "$@"\n')
            (bin_dir / name).chmod(0o755)
        self.env = {
            **os.environ,
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "MICKILL_ROOT": str(self.root),
            "MICKILL_SKIP_PIP": "1",
            "MICKILL_ASSUME_PI": "1",
            "STUB_STATE": str(self.state),
            "STUB_LOG": str(self.log),
        }
        for name in ("MICKILL_WHEEL", "STUB_FAIL", "STUB_UID"):
            self.env.pop(name, None)

    def setup(self, *args, **env) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", str(SETUP), *args], env={**self.env, **env}, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=60,
        )

    def commands(self, name=None) -> list[str]:
        lines = self.log.read_text().splitlines()
        return [line for line in lines if name is None or line.split()[0] == name]

    def users(self) -> dict:
        return {line.split(":")[0]: line for line in (self.state / "passwd").read_text().splitlines()}

    def groups(self) -> dict:
        return {row[0]: row[3].split(",") if row[3] else []
                for row in (line.split(":") for line in (self.state / "group").read_text().splitlines())}

    def snapshot(self) -> dict:
        """Every path under the root with its type, mode and content (or link target)."""
        tree = {}
        for path in sorted(self.root.rglob("*")):
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                detail = os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                detail = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                detail = None
            tree[str(path.relative_to(self.root))] = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode), detail)
        return tree

    def accounts(self) -> tuple:
        return ((self.state / "passwd").read_text(), (self.state / "group").read_text())


@pytest.fixture
def system(tmp_path) -> System:
    return System(tmp_path)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("script", [SETUP, CI_RUN], ids=["setup.sh", ".ci/run"])
def test_shellcheck_passes(script):
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (Debian: apt-get install shellcheck)")
    result = subprocess.run(["shellcheck", "--shell=bash", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_help_names_every_mode_and_option(system):
    result = ok(system.setup("--help"))
    for word in ("--dev", "--install", "--uninstall", "--dry-run", "--purge", "--force-not-pi",
                 "MICKILL_ROOT", "MICKILL_SKIP_PIP", "MICKILL_WHEEL"):
        assert word in result.stdout
    assert system.commands() == []


def test_unknown_option_is_named_and_changes_nothing(system):
    before = system.snapshot()
    result = system.setup("--instal")
    assert result.returncode != 0
    assert "unknown option '--instal'" in result.stderr and "--help" in result.stderr
    assert system.snapshot() == before


def test_dry_run_install_lists_actions_and_changes_nothing(system):
    before, accounts = system.snapshot(), system.accounts()
    result = ok(system.setup("--install", "--dry-run"))
    assert system.snapshot() == before
    assert system.accounts() == accounts
    # Only the read-only look-ups really ran.
    assert {line.split()[0] for line in system.commands()} <= {"getent", "dpkg-query", "id"}
    out = result.stdout
    for action in ("apt-get install -y", "groupadd --system gpio", "useradd --system --gid mickill",
                   "mickill-web", f"mkdir {system.root}/var/lib/mickill", "chmod 0750",
                   f"{system.root}/etc/mickill/mickill.toml", "venv", "systemctl daemon-reload",
                   "systemctl enable --now mickill.service mickill-web.service"):
        assert action in out, action
    assert out.count("would run:") >= 15


def test_install_writes_units_config_data_and_manifest(system):
    result = ok(system.setup("--install"))
    root = system.root
    for unit, source in UNIT_SOURCES.items():
        written = root / "etc/systemd/system" / unit
        assert written.read_bytes() == source.read_bytes()
        assert mode(written) == 0o644
    config = root / "etc/mickill/mickill.toml"
    assert config.read_bytes() == SAMPLE.read_bytes() and mode(config) == 0o640
    assert mode(root / "var/lib/mickill") == 0o750
    assert (root / "opt/mickill/venv/bin/python").exists()
    manifest = (root / "opt/mickill/installed").read_text().splitlines()
    assert f"unit {root}/etc/systemd/system/mickill.service" in manifest
    assert "user mickill" in manifest and "user mickill-web" in manifest
    assert not list(root.rglob("*.new"))

    users, groups = system.users(), system.groups()
    assert {"mickill", "mickill-web"} <= users.keys()
    assert groups["gpio"] == ["mickill"] and groups["audio"] == ["mickill"]
    assert groups["mickill"] == ["mickill-web"] and groups["mickill-web"] == []
    assert f"chown -R mickill:mickill {root}/var/lib/mickill" in system.commands("chown")
    assert f"chown root:mickill {root}/etc/mickill/mickill.toml.new" in system.commands("chown")
    systemctl = system.commands("systemctl")
    assert systemctl == ["systemctl daemon-reload", "systemctl enable --now mickill.service mickill-web.service"]
    assert any("apt-get install -y" in line and "python3-venv" in line for line in system.commands("apt-get"))
    assert "installed" in result.stdout


def test_install_twice_is_idempotent(system):
    ok(system.setup("--install"))
    tree, accounts = system.snapshot(), system.accounts()
    log_length = len(system.commands())
    ok(system.setup("--install"))
    assert system.snapshot() == tree
    assert system.accounts() == accounts
    second_run = system.commands()[log_length:]
    assert not [c for c in second_run if c.split()[0] in {"useradd", "groupadd", "usermod", "apt-get"}]
    assert len(system.commands("useradd")) == 2


def test_existing_config_is_kept_byte_for_byte(system):
    config = system.root / "etc/mickill/mickill.toml"
    config.parent.mkdir()
    mine = b"# my own pins\r\n[relay]\npin = 5\n\xe2\x9c\x93\n"
    config.write_bytes(mine)
    config.chmod(0o600)
    result = ok(system.setup("--install"))
    assert config.read_bytes() == mine and mode(config) == 0o600
    assert "kept the existing" in result.stdout
    ok(system.setup("--uninstall"))
    assert config.read_bytes() == mine


def test_uninstall_restores_the_root_but_keeps_the_data(system):
    before, accounts = system.snapshot(), system.accounts()
    ok(system.setup("--install"))
    (system.root / "var/lib/mickill/mickill.db").write_bytes(b"ledger")
    # What systemd made for the panel (StateDirectory=) goes too: it holds only a session key.
    (system.root / "var/lib/mickill-web").mkdir()
    (system.root / "var/lib/mickill-web/secret_key").write_bytes(b"key")
    result = ok(system.setup("--uninstall"))
    after = system.snapshot()
    kept = {path for path in after if path.startswith("var/lib/mickill")}
    assert kept == {"var/lib/mickill", "var/lib/mickill/mickill.db"}
    assert {path: v for path, v in after.items() if path not in kept} == before
    assert system.accounts() == accounts
    assert "systemctl disable --now mickill.service" in system.commands("systemctl")
    assert system.commands("systemctl")[-1] == "systemctl daemon-reload"
    assert "kept" in result.stdout and "var/lib/mickill" in result.stdout


def test_uninstall_purge_removes_the_data_too(system):
    before, accounts = system.snapshot(), system.accounts()
    ok(system.setup("--install"))
    ok(system.setup("--uninstall", "--purge"))
    assert system.snapshot() == before
    assert system.accounts() == accounts


def test_uninstall_keeps_a_changed_config_and_its_folder(system):
    ok(system.setup("--install"))
    config = system.root / "etc/mickill/mickill.toml"
    config.write_text(config.read_text() + "\n# changed by the owner\n")
    result = ok(system.setup("--uninstall"))
    assert config.read_text().endswith("# changed by the owner\n")
    assert "was changed since install" in result.stdout


def test_uninstall_leaves_users_that_existed_before(system):
    with open(system.state / "passwd", "a") as passwd:
        passwd.write("mickill:x:990:990::/var/lib/mickill:/usr/sbin/nologin\n")
    with open(system.state / "group", "a") as group:
        group.write("mickill:x:990:\n")
    accounts = system.accounts()
    ok(system.setup("--install"))
    assert not [c for c in system.commands("useradd") if c.endswith(" mickill")]
    assert system.groups()["gpio"] == ["mickill"]  # added to gpio by usermod
    ok(system.setup("--uninstall"))
    assert system.accounts() == accounts
    assert "userdel mickill" not in system.commands("userdel")


def test_dry_run_uninstall_changes_nothing(system):
    ok(system.setup("--install"))
    tree, accounts = system.snapshot(), system.accounts()
    result = ok(system.setup("--uninstall", "--dry-run"))
    assert system.snapshot() == tree and system.accounts() == accounts
    assert "would run: userdel mickill-web" in result.stdout
    assert "would run: systemctl disable --now mickill.service" in result.stdout


def test_uninstall_without_install_says_so(system):
    result = system.setup("--uninstall")
    assert result.returncode != 0
    assert "nothing installed" in result.stderr


@pytest.mark.parametrize("failing", ["apt-get install", "useradd --system --gid mickill-web",
                                     "systemctl enable"])
def test_a_failing_step_rolls_back_and_leaves_no_half_written_unit(system, failing):
    before, accounts = system.snapshot(), system.accounts()
    result = system.setup("--install", STUB_FAIL=failing)
    assert result.returncode != 0
    assert "failed while" in result.stderr and "run it again" in result.stderr
    assert system.snapshot() == before
    assert system.accounts() == accounts
    assert not list(system.root.rglob("*.service*"))


def test_a_failed_rerun_keeps_the_first_install(system):
    ok(system.setup("--install"))
    manifest = system.root / "opt/mickill/installed"
    recorded, accounts = manifest.read_text(), system.accounts()
    unit = system.root / "etc/systemd/system/mickill.service"
    unit.unlink()
    assert system.setup("--install", STUB_FAIL="systemctl enable").returncode != 0
    # Nothing this run created needed undoing, and the first install is still whole.
    assert manifest.read_text() == recorded
    assert system.accounts() == accounts
    assert unit.read_bytes() == UNIT_SOURCES["mickill.service"].read_bytes()


def test_install_refuses_a_board_that_is_not_a_pi(system):
    before = system.snapshot()
    env = {**system.env}
    env.pop("MICKILL_ASSUME_PI")
    system.env = env
    if Path("/proc/device-tree/model").exists() and b"Raspberry Pi" in Path("/proc/device-tree/model").read_bytes():
        pytest.skip("this machine is a Raspberry Pi")
    result = system.setup("--install")
    assert result.returncode != 0 and "--force-not-pi" in result.stderr
    assert system.snapshot() == before
    ok(system.setup("--install", "--force-not-pi"))
    assert (system.root / "etc/systemd/system/mickill.service").exists()


def test_dev_without_root_names_the_exact_apt_line(system):
    result = system.setup("--dev", STUB_UID="1000")
    assert result.returncode != 0
    assert "sudo apt-get install -y portaudio19-dev chromium espeak-ng sox shellcheck" in result.stderr
    assert system.commands("apt-get") == []


def test_functions_load_without_running_main(system):
    (system.state / "dpkg").write_text("sox\n")
    script = f'SKIP_INSTALL=true source "{SETUP}"; missing_packages sox chromium shellcheck'
    result = ok(subprocess.run(["bash", "-c", script], env=system.env, capture_output=True, text=True))
    assert result.stdout.split() == ["chromium", "shellcheck"]
    assert [c.split()[0] for c in system.commands()] == ["dpkg-query"] * 3


def fake_checkout(base: Path, setup_status: int, pytest_status: int, bench_status: int | None) -> Path:
    """A checkout holding the real .ci/run, with setup.sh, pytest and the benchmark replaced by
    scripts that log their call and exit with the given status."""
    repo = base / "clone"
    (repo / ".ci").mkdir(parents=True)
    shutil.copy2(CI_RUN, repo / ".ci" / "run")
    scripts = {"setup.sh": f"exit {setup_status}", ".venv/bin/pytest": f"exit {pytest_status}",
               ".venv/bin/python": 'exec sh "$@"'}
    if bench_status is not None:
        scripts["tests/bench/run.py"] = f"exit {bench_status}"
    for name, body in scripts.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'#!/bin/sh\necho "{name} $*" >> "$CI_LOG"\n{body}\n')
        path.chmod(0o755)
    return repo


@pytest.mark.parametrize(
    "setup_status, pytest_status, bench_status, expected, ran",
    [
        (0, 0, 0, 0, ["setup.sh --dev", ".venv/bin/pytest", ".venv/bin/python tests/bench/run.py"]),
        (0, 1, 3, 1, ["setup.sh --dev", ".venv/bin/pytest", ".venv/bin/python tests/bench/run.py"]),
        (0, 0, 3, 0, ["setup.sh --dev", ".venv/bin/pytest", ".venv/bin/python tests/bench/run.py"]),
        (0, 5, None, 5, ["setup.sh --dev", ".venv/bin/pytest"]),
        (2, 0, 0, 2, ["setup.sh --dev", ".venv/bin/python tests/bench/run.py"]),
    ],
)
def test_ci_run_status_is_the_test_command_status(system, tmp_path, setup_status, pytest_status,
                                                  bench_status, expected, ran):
    repo = fake_checkout(tmp_path, setup_status, pytest_status, bench_status)
    log = tmp_path / "ci.log"
    log.write_text("")
    result = subprocess.run(["bash", str(repo / ".ci" / "run")], cwd=tmp_path, env={**system.env, "CI_LOG": str(log)},
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert result.returncode == expected, result.stderr
    # The benchmark logs twice: as the interpreter's argument and as itself.
    calls = [line.strip() for line in log.read_text().splitlines() if not line.startswith("tests/bench")]
    assert calls == ran
    apt = system.commands("apt-get")
    assert apt[0] == "apt-get update"
    assert apt[1].startswith("apt-get install -y")
    for package in ("portaudio19-dev", "chromium", "espeak-ng", "sox", "shellcheck", "python3-venv"):
        assert package in apt[1].split()


def pypi_reachable() -> bool:
    import socket

    try:
        socket.create_connection(("pypi.org", 443), timeout=3).close()
        return True
    except OSError:
        return False


def test_default_mode_builds_a_working_venv_once(tmp_path):
    """The README's first command, for real: a venv with mickill from PyPI's dependencies."""
    if not pypi_reachable():
        pytest.skip("pypi.org is not reachable; the default mode installs mickill's dependencies from it")
    checkout = tmp_path / "mickill"
    shutil.copytree(REPO, checkout, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "tests", "__pycache__", "*.egg-info", "build", ".pytest_cache", ".hypothesis"))
    env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["MICKILL_ASSUME_PI"] = "0"

    def setup():
        return ok(subprocess.run(["./setup.sh"], cwd=checkout, env=env, stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True, timeout=180))

    assert ".venv/bin/mickill run" in setup().stdout
    made = (checkout / ".venv/pyvenv.cfg").stat().st_mtime_ns
    ok(subprocess.run([str(checkout / ".venv/bin/mickill"), "--help"], capture_output=True, timeout=60))
    setup()
    assert (checkout / ".venv/pyvenv.cfg").stat().st_mtime_ns == made, "the venv was rebuilt"
