#!/usr/bin/env bash
# setup.sh: mickill's one installer. Without options it makes ./.venv for trying mickill;
# --dev adds the test tools; --install sets up the system service on a Raspberry Pi and
# --uninstall takes away exactly what --install added. See ./setup.sh --help.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=${PYTHON:-python3}
# Debian packages the test suite needs: pyaudio builds against portaudio; the browser tests,
# the speech fixtures and the shell lint need the rest.
DEV_PACKAGES=(portaudio19-dev chromium espeak-ng sox shellcheck)
# Debian packages the service needs: venv for its own environment; python3-dev and gcc because
# RPi.GPIO (the pi extra) ships no wheels and is compiled at install time.
SERVICE_PACKAGES=(python3-venv python3-dev gcc)
UNITS=(mickill.service mickill-web.service)

MODE=venv
DRY_RUN=0
PURGE=0
FORCE_NOT_PI=0
STEP="checking prerequisites"
MANIFEST_LINES_AT_START=0
ROLLING_BACK=0

usage() {
    cat <<'EOF'
Usage: ./setup.sh [MODE] [OPTIONS]

Modes:
  (none)          create ./.venv (if missing) and install mickill into it; on a Raspberry Pi
                  also the GPIO libraries. Then run: .venv/bin/mickill run
  --dev           the same plus the test and audio extras; installs (as root) or names the
                  Debian packages the tests need. Then run: .venv/bin/pytest
  --install       as root on a Raspberry Pi: users mickill and mickill-web, /opt/mickill/venv,
                  /etc/mickill/mickill.toml (an existing one is kept), /var/lib/mickill and the
                  systemd units, enabled and started. What it creates is recorded in
                  /opt/mickill/installed so that --uninstall can undo exactly that.
  --uninstall     stop and remove what --install created; keeps /var/lib/mickill (the
                  ledger of when the mic was live) and a config you changed.

Options:
  --dry-run       print every action, change nothing
  --purge         with --uninstall: also delete /var/lib/mickill
  --force-not-pi  with --install: install on a board that is not a Raspberry Pi
  -h, --help      this text

Environment:
  MICKILL_ROOT=DIR      prefix every system path with DIR (a staging tree; root not required)
  MICKILL_ASSUME_PI=1   treat this machine as a Raspberry Pi
  MICKILL_WHEEL=FILE    --install: install this wheel instead of building the checkout
  MICKILL_SKIP_PIP=1    --install: create the service venv without pip and install nothing
  PYTHON=python3.X      the interpreter to build venvs with (default python3)
EOF
}

say() { printf 'setup.sh: %s\n' "$*"; }
die() { printf 'setup.sh: error: %s\n' "$*" >&2; exit 1; }

# Every change goes through run, so --dry-run can show it instead.
run() {
    if ((DRY_RUN)); then
        printf 'would run: %s\n' "$*"
    else
        "$@"
    fi
}

set_paths() {
    ROOT=${MICKILL_ROOT:-}
    OPT_DIR="$ROOT/opt/mickill"
    VENV_DIR="$OPT_DIR/venv"
    MANIFEST="$OPT_DIR/installed"
    ETC_DIR="$ROOT/etc/mickill"
    CONFIG="$ETC_DIR/mickill.toml"
    DATA_DIR="$ROOT/var/lib/mickill"
    UNIT_DIR="$ROOT/etc/systemd/system"
}

is_root() { [[ "$(id -u)" == 0 ]]; }

is_pi() {
    [[ "${MICKILL_ASSUME_PI:-}" == 1 ]] && return 0
    [[ -r /proc/device-tree/model ]] && grep -q 'Raspberry Pi' /proc/device-tree/model
}

is_debian() { [[ -r /etc/debian_version ]] && command -v apt-get >/dev/null; }

pkg_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

missing_packages() {
    local pkg
    for pkg in "$@"; do
        pkg_installed "$pkg" || printf '%s\n' "$pkg"
    done
}

check_python() {
    STEP="checking Python"
    command -v "$PYTHON" >/dev/null ||
        die "$PYTHON not found: install Python 3.11 or newer (Debian: sudo apt-get install python3 python3-venv)"
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
        die "$("$PYTHON" -V 2>&1) is too old: mickill needs Python 3.11 or newer; install it, then run PYTHON=python3.11 ./setup.sh"
    "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null ||
        die "Python's venv module is missing: install it (Debian: sudo apt-get install python3-venv) and run setup.sh again"
}

# --- the developer venv -------------------------------------------------------------------------

ensure_dev_packages() {
    is_debian || { say "not Debian or Ubuntu: make sure ${DEV_PACKAGES[*]} (or your system's equivalents) are installed"; return 0; }
    local missing
    mapfile -t missing < <(missing_packages "${DEV_PACKAGES[@]}")
    ((${#missing[@]})) || return 0
    is_root || ((DRY_RUN)) ||
        die "the tests need Debian packages that are missing; install them with: sudo apt-get install -y ${missing[*]}"
    STEP="installing ${missing[*]}"
    run apt-get update
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

setup_venv() {
    local extras=$1 venv="$REPO_DIR/.venv"
    check_python
    if [[ ! -x "$venv/bin/python" ]]; then
        [[ -e "$venv" ]] && die "$venv exists but has no bin/python: remove it (rm -rf $venv) and run setup.sh again"
        STEP="creating $venv"
        run "$PYTHON" -m venv "$venv"
    fi
    STEP="installing mickill into $venv"
    run "$venv/bin/python" -m pip install --disable-pip-version-check -e "$REPO_DIR$extras"
}

# --- the system service: manifest ---------------------------------------------------------------
# One line per thing --install created, in order: "KIND ARGS". Undoing walks it backwards.

record() {
    ((DRY_RUN)) && return 0
    printf '%s\n' "$*" >>"$MANIFEST"
}

manifest_has() { [[ -f "$MANIFEST" ]] && grep -qxF -- "$*" "$MANIFEST"; }

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

undo_line() {
    local kind=$1 a=${2:-} b=${3:-}
    case $kind in
        enabled) run systemctl disable --now "$a" || say "could not stop $a; check: systemctl status $a" ;;
        unit) [[ -e "$a" ]] && run rm -f "$a" ;;
        config)
            if [[ -f "$a" && "$(sha_of "$a")" == "$b" ]]; then
                run rm -f "$a"
            elif [[ -f "$a" ]]; then
                say "kept $a: it was changed since install"
            fi
            ;;
        dir)
            if [[ -d "$a" ]] && [[ -z "$(ls -A "$a")" ]]; then run rmdir "$a"; elif [[ -d "$a" ]]; then say "kept $a: it is not empty"; fi
            ;;
        data)
            if ((PURGE)); then
                [[ -d "$a" ]] && run rm -rf "$a"
            elif ((ROLLING_BACK)) && [[ -d "$a" && -z "$(ls -A "$a")" ]]; then
                run rmdir "$a"
            else
                say "kept $a (the ledger of when the mic was live); --uninstall --purge deletes it"
            fi
            ;;
        tree) [[ -e "$a" ]] && run rm -rf "$a" ;;
        member) run gpasswd --delete "$a" "$b" >/dev/null ;;
        user) getent passwd "$a" >/dev/null && run userdel "$a" ;;
        group) getent group "$a" >/dev/null && run groupdel "$a" ;;
        apt) say "kept Debian package $a (others may use it; apt-get remove $a if not)" ;;
        *) say "ignored unknown manifest line: $kind $a $b" ;;
    esac
    return 0
}

# Undo manifest lines from number $1 (1-based) to the end, last first, then drop them.
undo_from() {
    local first=$1 lines=() i reload=0
    [[ -f "$MANIFEST" ]] || return 0
    mapfile -t lines <"$MANIFEST"
    for ((i = ${#lines[@]} - 1; i >= first - 1; i--)); do
        # shellcheck disable=SC2086 # a manifest line is KIND and plain words by construction
        undo_line ${lines[i]}
        [[ "${lines[i]}" == unit\ * ]] && reload=1
    done
    ((reload)) && { run systemctl daemon-reload || true; }
    if ((DRY_RUN)); then return 0; fi
    if [[ -f "$MANIFEST" ]]; then
        head -n "$((first - 1))" "$MANIFEST" >"$MANIFEST.tmp" && mv "$MANIFEST.tmp" "$MANIFEST"
    fi
}

# --- the system service: steps ------------------------------------------------------------------

ensure_group() {
    local group=$1
    getent group "$group" >/dev/null && return 0
    run groupadd --system "$group"
    record group "$group"
}

ensure_user() {
    local user=$1 groups=$2 home=$3
    ensure_group "$user"
    if ! getent passwd "$user" >/dev/null; then
        run useradd --system --gid "$user" --groups "$groups" --home-dir "$home" --no-create-home \
            --shell /usr/sbin/nologin --comment "mickill service" "$user"
        record user "$user"
        return 0
    fi
    local group
    for group in ${groups//,/ }; do
        if ! getent group "$group" | cut -d: -f4 | tr ',' '\n' | grep -qxF "$user"; then
            run usermod --append --groups "$group" "$user"
            record member "$user" "$group"
        fi
    done
}

ensure_dir() {
    local dir=$1 kind=$2
    [[ -d "$dir" ]] && return 0
    run mkdir "$dir"
    record "$kind" "$dir"
}

install_service_packages() {
    local missing pkg
    mapfile -t missing < <(missing_packages "${SERVICE_PACKAGES[@]}")
    ((${#missing[@]})) || return 0
    STEP="installing Debian packages ${missing[*]}"
    run apt-get update
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
    for pkg in "${missing[@]}"; do record apt "$pkg"; done
}

install_config() {
    local sample="$REPO_DIR/firmware/mickill/mickill.sample.toml"
    STEP="writing $CONFIG"
    ensure_dir "$ETC_DIR" dir
    if [[ -e "$CONFIG" ]]; then
        say "kept the existing $CONFIG"
        return 0
    fi
    [[ -f "$sample" ]] || die "the sample config $sample is missing: this checkout is incomplete; fetch it again"
    run install -m 0640 "$sample" "$CONFIG.new"
    run chown root:mickill "$CONFIG.new"
    run mv "$CONFIG.new" "$CONFIG"
    ((DRY_RUN)) || record config "$CONFIG" "$(sha_of "$CONFIG")"
}

install_venv() {
    STEP="creating $VENV_DIR"
    if [[ ! -x "$VENV_DIR/bin/python" ]]; then
        if [[ "${MICKILL_SKIP_PIP:-}" == 1 ]]; then
            run "$PYTHON" -m venv --without-pip "$VENV_DIR"
        else
            run "$PYTHON" -m venv "$VENV_DIR"
        fi
    fi
    if [[ "${MICKILL_SKIP_PIP:-}" == 1 ]]; then
        say "MICKILL_SKIP_PIP=1: installed nothing into $VENV_DIR"
        return 0
    fi
    STEP="installing mickill into $VENV_DIR"
    local target="${REPO_DIR}[pi]"
    [[ -n "${MICKILL_WHEEL:-}" ]] && target="${MICKILL_WHEEL}[pi]"
    run "$VENV_DIR/bin/python" -m pip install --disable-pip-version-check --upgrade "$target"
}

install_units() {
    local unit src dest
    STEP="writing the systemd units"
    for unit in "${UNITS[@]}"; do
        case $unit in
            mickill.service) src="$REPO_DIR/firmware/systemd/$unit" ;;
            *) src="$REPO_DIR/web/systemd/$unit" ;;
        esac
        dest="$UNIT_DIR/$unit"
        if [[ -f "$dest" ]] && cmp -s "$src" "$dest"; then continue; fi
        manifest_has unit "$dest" || [[ -e "$dest" ]] || record unit "$dest"
        # Written beside the target and renamed, so a unit is never seen half-written.
        run install -m 0644 "$src" "$dest.new"
        run mv "$dest.new" "$dest"
    done
    STEP="enabling the services"
    run systemctl daemon-reload
    for unit in "${UNITS[@]}"; do
        manifest_has enabled "$unit" || record enabled "$unit"
    done
    run systemctl enable --now "${UNITS[@]}"
}

do_install() {
    is_root || ((DRY_RUN)) || [[ -n "${MICKILL_ROOT:-}" ]] || die "--install changes the system: run it as root (sudo ./setup.sh --install)"
    is_pi || ((FORCE_NOT_PI)) ||
        die "this is not a Raspberry Pi (no 'Raspberry Pi' in /proc/device-tree/model); pass --force-not-pi to install anyway"
    [[ -d "$UNIT_DIR" ]] || die "$UNIT_DIR not found: the service needs systemd"
    local parent
    for parent in "$ROOT/opt" "$ROOT/var/lib" "$ROOT/etc"; do
        [[ -d "$parent" ]] || die "$parent not found: is MICKILL_ROOT ($ROOT) a system tree?"
    done
    check_python
    STEP="creating $OPT_DIR"
    # A failure rolls back only the lines this run adds.
    if [[ -f "$MANIFEST" ]]; then MANIFEST_LINES_AT_START=$(wc -l <"$MANIFEST"); fi
    if [[ ! -d "$OPT_DIR" ]]; then
        run mkdir -m 0755 "$OPT_DIR"
        record tree "$OPT_DIR"
    fi
    install_service_packages
    STEP="creating users"
    ensure_group gpio
    ensure_user mickill gpio,audio "/var/lib/mickill"
    ensure_user mickill-web mickill "/nonexistent"
    STEP="creating $DATA_DIR"
    ensure_dir "$DATA_DIR" data
    # Recursive: a data folder kept from an earlier install may belong to an old user id.
    run chown -R mickill:mickill "$DATA_DIR"
    run chmod 0750 "$DATA_DIR"
    install_config
    install_venv
    install_units
    STEP="done"
    say "installed. Check it with: systemctl status mickill mickill-web"
    say "the panel listens on the web address set in /etc/mickill/mickill.toml"
    say "the first visit asks for a setup code: sudo -u mickill /opt/mickill/venv/bin/mickill setup-code --data /var/lib/mickill"
}

do_uninstall() {
    is_root || ((DRY_RUN)) || [[ -n "${MICKILL_ROOT:-}" ]] || die "--uninstall changes the system: run it as root (sudo ./setup.sh --uninstall)"
    [[ -f "$MANIFEST" ]] || die "no install record at $MANIFEST: nothing installed by setup.sh --install to undo"
    STEP="uninstalling"
    undo_from 1
    # systemd made the panel's state folder (StateDirectory=): it holds only its session key.
    if [[ -d "$ROOT/var/lib/mickill-web" ]]; then run rm -rf "$ROOT/var/lib/mickill-web"; fi
    if ((!DRY_RUN)) && [[ -f "$MANIFEST" ]]; then rm -f "$MANIFEST"; fi
    if ((!DRY_RUN)) && [[ -d "$OPT_DIR" ]]; then rmdir "$OPT_DIR" 2>/dev/null || say "kept $OPT_DIR: it holds files setup.sh did not create"; fi
    say "uninstalled"
}

# --- plumbing -----------------------------------------------------------------------------------

on_exit() {
    local status=$?
    trap - EXIT ERR
    ((status == 0)) && return 0
    if [[ "$MODE" == install ]] && ((!DRY_RUN)) && [[ -f "${MANIFEST:-}" ]]; then
        say "rolling back what this run created"
        ROLLING_BACK=1
        # Pending temporary files first, so nothing half-written stays behind.
        rm -f "$UNIT_DIR"/*.service.new "$CONFIG.new"
        undo_from "$((MANIFEST_LINES_AT_START + 1))" || true
        if [[ ! -s "$MANIFEST" ]]; then rm -f "$MANIFEST"; fi
        if [[ -d "$OPT_DIR" && ! -e "$MANIFEST" ]]; then rmdir "$OPT_DIR" 2>/dev/null || true; fi
    fi
    printf 'setup.sh: failed while %s (exit status %s); fix the error above and run it again\n' "$STEP" "$status" >&2
    exit "$status"
}

parse_args() {
    while (($#)); do
        case $1 in
            --dev) MODE=dev ;;
            --install) MODE=install ;;
            --uninstall) MODE=uninstall ;;
            --dry-run) DRY_RUN=1 ;;
            --purge) PURGE=1 ;;
            --force-not-pi) FORCE_NOT_PI=1 ;;
            -h | --help) MODE=help ;;
            *) die "unknown option '$1' (see ./setup.sh --help)" ;;
        esac
        shift
    done
    if ((PURGE)) && [[ "$MODE" != uninstall ]]; then die "--purge only goes with --uninstall"; fi
    return 0
}

main() {
    parse_args "$@"
    set_paths
    trap on_exit EXIT
    trap 'exit $?' ERR
    ((DRY_RUN)) && say "dry run: nothing will be changed"
    case $MODE in
        help) usage ;;
        venv)
            local extras=""
            is_pi && extras="[pi]"
            setup_venv "$extras"
            say "ready. Next: .venv/bin/mickill run"
            ;;
        dev)
            ensure_dev_packages
            setup_venv "[dev,audio]"
            say "ready. Next: .venv/bin/pytest"
            ;;
        install) do_install ;;
        uninstall) do_uninstall ;;
    esac
}

if [[ "${SKIP_INSTALL:-}" != true ]]; then main "$@"; fi
