#!/usr/bin/env bash
# Install Trackside as a service on Raspberry Pi OS Bookworm (64-bit), from this checkout.
#
#   sudo ./scripts/install-pi.sh                  install or upgrade, enable and start the service
#   sudo ./scripts/install-pi.sh --models-from DIR   take the model from a local folder (offline Pi)
#   sudo ./scripts/install-pi.sh --no-start       install and enable, but do not start now
#   sudo ./scripts/install-pi.sh --uninstall      stop and remove the service and the code
#   sudo ./scripts/install-pi.sh --uninstall --purge   also remove config and results
#
# Safe to run again: every step checks what is already there.  What goes where:
#   /opt/trackside              the code, its virtual environment (.venv) and models/
#   /etc/trackside/trackside.toml   the config (created from trackside.example.toml once,
#                               never overwritten)
#   /var/lib/trackside          results and the MQTT outbox (systemd StateDirectory)
#   /etc/systemd/system/trackside.service and trackside-dashboard.service (left disabled),
#   and /usr/local/bin/trackside (a link)
set -euo pipefail

PREFIX=/opt/trackside
CONFIG_DIR=/etc/trackside
STATE_DIR=/var/lib/trackside
UNIT=/etc/systemd/system/trackside.service
DASHBOARD_UNIT=/etc/systemd/system/trackside-dashboard.service
SERVICE_USER=trackside
APT_PACKAGES=(python3-venv python3-pip python3-picamera2 python3-libcamera python3-lgpio
              python3-numpy rsync)

source_dir="$(cd "$(dirname "$0")/.." && pwd)"
mode=install
start=yes
purge=no
models_from=""

say() { printf '==> %s\n' "$*"; }
die() { printf 'install-pi.sh: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --uninstall) mode=uninstall ;;
    --purge) purge=yes ;;
    --no-start) start=no ;;
    --models-from) models_from="${2:?--models-from needs a directory}"; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
  shift
done

[ "$(id -u)" = 0 ] || die "run as root (sudo $0 $*)"

uninstall() {
  for unit in trackside.service trackside-dashboard.service; do
    if systemctl list-unit-files "$unit" >/dev/null 2>&1; then
      say "stopping and disabling $unit"
      systemctl disable --now "$unit" 2>/dev/null || true
    fi
  done
  rm -f "$UNIT" "$DASHBOARD_UNIT" /usr/local/bin/trackside
  systemctl daemon-reload
  say "removing $PREFIX"
  rm -rf "$PREFIX"
  if [ "$purge" = yes ]; then
    say "purging $CONFIG_DIR, $STATE_DIR and user $SERVICE_USER"
    rm -rf "$CONFIG_DIR" "$STATE_DIR"
    id "$SERVICE_USER" >/dev/null 2>&1 && userdel "$SERVICE_USER"
  else
    say "kept $CONFIG_DIR and $STATE_DIR (add --purge to remove them)"
  fi
}

check_os() {
  # shellcheck source=/dev/null
  . /etc/os-release
  if [ "${VERSION_CODENAME:-}" != bookworm ] && [ "${VERSION_CODENAME:-}" != trixie ]; then
    die "expected Raspberry Pi OS Bookworm (or newer), found ${PRETTY_NAME:-unknown}"
  fi
  [ "$(uname -m)" = aarch64 ] || say "warning: $(uname -m) is not aarch64; LiteRT wheels need 64-bit"
}

install_packages() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing apt packages: ${missing[*]}"
    apt-get update
    apt-get install -y "${missing[@]}"
  else
    say "apt packages already installed"
  fi
}

create_user() {
  if id "$SERVICE_USER" >/dev/null 2>&1; then
    say "user $SERVICE_USER exists"
  else
    say "creating system user $SERVICE_USER"
    useradd --system --home-dir "$STATE_DIR" --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
  fi
  for group in video gpio; do
    getent group "$group" >/dev/null && usermod -a -G "$group" "$SERVICE_USER"
  done
}

install_code() {
  say "copying Trackside to $PREFIX"
  mkdir -p "$PREFIX"
  rsync -a --delete --exclude .git --exclude '.venv*' --exclude models/ "$source_dir"/ "$PREFIX"/
  # models/ is excluded above so downloaded model files survive an upgrade.
  mkdir -p "$PREFIX/models"
  cp "$source_dir"/models/manifest.toml "$PREFIX"/models/manifest.toml

  # The venv sees the system's picamera2.  picamera2 and its compiled helpers were built
  # against the system NumPy, so pip is held to that exact NumPy instead of pulling NumPy 2.
  if [ ! -x "$PREFIX/.venv/bin/python" ]; then
    say "creating virtual environment (with system site packages, for picamera2)"
    python3 -m venv --system-site-packages "$PREFIX/.venv"
  fi
  local numpy_version
  numpy_version="$(/usr/bin/python3 -c 'import numpy; print(numpy.__version__)')"
  printf 'numpy==%s\n' "$numpy_version" > "$PREFIX/.venv/constraints.txt"
  say "installing Trackside into the venv (numpy held at $numpy_version)"
  "$PREFIX/.venv/bin/pip" install --quiet --upgrade pip
  # [video]: PyAV, for browser-playable H.264 clips (edge/outputs/video.py).
  "$PREFIX/.venv/bin/pip" install --quiet --constraint "$PREFIX/.venv/constraints.txt" \
    -e "${PREFIX}[video]"
  "$PREFIX/.venv/bin/python" -c 'import picamera2, numpy, edge' \
    || die "the venv cannot import picamera2 next to Trackside; see the log above"
  ln -sf "$PREFIX/.venv/bin/trackside" /usr/local/bin/trackside
}

fetch_model() {
  local args=(models fetch --dir "$PREFIX/models")
  [ -n "$models_from" ] && args+=(--from "$models_from")
  say "fetching and verifying the model"
  "$PREFIX/.venv/bin/trackside" "${args[@]}"
}

install_config() {
  mkdir -p "$CONFIG_DIR"
  if [ -f "$CONFIG_DIR/trackside.toml" ]; then
    say "keeping existing $CONFIG_DIR/trackside.toml"
  else
    say "creating $CONFIG_DIR/trackside.toml from the example"
    cp "$PREFIX/trackside.example.toml" "$CONFIG_DIR/trackside.toml"
  fi
  chown -R root:"$SERVICE_USER" "$CONFIG_DIR"
  chmod 0750 "$CONFIG_DIR"
  chmod 0640 "$CONFIG_DIR/trackside.toml"
  "$PREFIX/.venv/bin/trackside" config check "$CONFIG_DIR/trackside.toml"
}

install_unit() {
  say "installing $UNIT"
  install -m 0644 "$PREFIX/systemd/trackside.service" "$UNIT"
  # The coaches' dashboard is installed but left off: it listens on loopback until
  # [dashboard] bind and a password are set (docs/dashboard.md).
  install -m 0644 "$PREFIX/systemd/trackside-dashboard.service" "$DASHBOARD_UNIT"
  systemctl daemon-reload
  systemctl enable trackside.service
  if [ "$start" = yes ]; then
    systemctl restart trackside.service
    say "started: systemctl status trackside; journalctl -u trackside -f"
    say "dashboard: set [dashboard] in the config, then systemctl enable --now trackside-dashboard"
  else
    say "enabled; start it with: systemctl start trackside"
  fi
}

if [ "$mode" = uninstall ]; then
  uninstall
  exit 0
fi
check_os
install_packages
create_user
install_code
fetch_model
install_config
install_unit
say "done"
