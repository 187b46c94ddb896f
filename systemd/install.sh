#!/usr/bin/env bash
# Install CX Station as systemd services on a Debian box. Run as root from a checkout:
#
#   sudo systemd/install.sh                 # vision (one per camera), kiosk, sync, watch
#   sudo systemd/install.sh --with-hq       # also HQ: receiver, daily prune, the dashboard
#                                           # (the dashboard once hq.toml has [[web.users]])
#   systemd/install.sh --dry-run            # print every step, change nothing
#
# Safe to run again (upgrades the code and units, keeps an edited config and credentials).
# --destdir DIR puts the files under DIR without creating users, changing owners or calling
# systemctl (for packaging and tests). Details: systemd/README.md.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: systemd/install.sh [--dry-run] [--with-hq] [--destdir DIR] [--source DIR]
                          [--python PYTHON] [--no-venv] [--no-models]
  --dry-run      print what would be done; change nothing
  --with-hq      also enable cx-hq.service and cx-hq-prune.timer (a box that is its own
                 HQ), and cx-hq-web.service where hq.toml has [[web.users]]
  --destdir DIR  install under DIR; no users, owners or systemctl
  --source DIR   the CX Station checkout to pip-install (default: this script's repository)
  --python PY    interpreter for the venv (default: python3; needs 3.11 or newer)
  --no-venv      do not create/upgrade /opt/cx-station/venv
  --no-models    do not fetch the models
EOF
}

die() { echo "install.sh: error: $*" >&2; exit 1; }
note() { echo "install.sh: $*"; }

DRY_RUN=0
WITH_HQ=0
DESTDIR=""
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON=python3
DO_VENV=1
DO_MODELS=1

while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) DRY_RUN=1 ;;
        --with-hq) WITH_HQ=1 ;;
        --destdir) [ $# -ge 2 ] || die "--destdir needs a directory"; DESTDIR="${2%/}"; shift ;;
        --source) [ $# -ge 2 ] || die "--source needs a directory"; SOURCE="$2"; shift ;;
        --python) [ $# -ge 2 ] || die "--python needs an interpreter"; PYTHON="$2"; shift ;;
        --no-venv) DO_VENV=0 ;;
        --no-models) DO_MODELS=0 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
done

USER_NAME=cx-station
OPT_DIR=/opt/cx-station
VENV_DIR=$OPT_DIR/venv
ETC_DIR=/etc/cx-station
STATE_DIR=/var/lib/cx-station
MODELS_DIR=$STATE_DIR/models
UNIT_DIR=/etc/systemd/system
DOC_DIR=$OPT_DIR/share/systemd
UNITS=(cx-vision@.service cx-kiosk.service cx-sync.service cx-watch.service cx-hq.service
       cx-hq-web.service cx-hq-prune.service cx-hq-prune.timer
       cx-prune.service cx-prune.timer cx-station.target)
# cx-vision@ID.service per camera, and cx-hq-web.service where HQ has users: added once the
# config is in place (see "systemd" below)
ENABLE=(cx-kiosk.service cx-sync.service cx-watch.service cx-prune.timer)
[ "$WITH_HQ" = 1 ] && ENABLE+=(cx-hq.service cx-hq-prune.timer)
ENABLE+=(cx-station.target)

# Everything that changes the machine goes through run: printed, and executed unless --dry-run.
run() {
    printf '+'; printf ' %q' "$@"; printf '\n'
    [ "$DRY_RUN" = 1 ] || "$@"
}

# install(1) with owner and group, which a --destdir install leaves to the packager.
put() {  # put MODE OWNER GROUP SOURCE TARGET
    local mode=$1 owner=$2 group=$3 src=$4 dst=$5
    if [ -n "$DESTDIR" ]; then
        run install -m "$mode" "$src" "$DESTDIR$dst"
    else
        run install -m "$mode" -o "$owner" -g "$group" "$src" "$dst"
    fi
}

make_dir() {  # make_dir MODE OWNER GROUP PATH (install -d also fixes an existing directory)
    local mode=$1 owner=$2 group=$3 path=$4
    if [ -n "$DESTDIR" ]; then
        run install -d -m "$mode" "$DESTDIR$path"
    else
        run install -d -m "$mode" -o "$owner" -g "$group" "$path"
    fi
}

# --- preflight -----------------------------------------------------------------------------
for unit in "${UNITS[@]}"; do
    [ -f "$SOURCE/systemd/$unit" ] \
        || die "$SOURCE/systemd/$unit is missing (is --source a CX Station checkout?)"
done
[ -f "$SOURCE/systemd/README.md" ] || die "$SOURCE/systemd/README.md is missing"
[ -f "$SOURCE/config/station.example.toml" ] || die "$SOURCE/config/station.example.toml is missing"
if [ -z "$DESTDIR" ] && [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
    die "run as root (or with --dry-run to see the steps, or --destdir DIR)"
fi
if [ "$DO_VENV" = 1 ]; then
    command -v "$PYTHON" >/dev/null \
        || die "$PYTHON not found (Debian: apt-get install python3 python3-venv)"
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "$PYTHON is older than 3.11"
    "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null \
        || die "$PYTHON cannot make a venv (Debian: apt-get install python3-venv)"
fi
umask 0027

# --- user and groups -----------------------------------------------------------------------
if [ -z "$DESTDIR" ]; then
    # The units name these as SupplementaryGroups=; a missing group stops the service at start.
    for group in video input; do
        getent group "$group" >/dev/null || run groupadd --system "$group"
    done
    if getent passwd "$USER_NAME" >/dev/null; then
        note "user $USER_NAME exists"
    else
        run useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home \
            --shell /usr/sbin/nologin --comment "CX Station services" "$USER_NAME"
    fi
else
    note "--destdir: not creating user $USER_NAME, owners are left to the packager"
fi

# --- directories ---------------------------------------------------------------------------
# /etc/cx-station is root's (services only read it) but group-readable by the services:
# systemd creates ConfigurationDirectory= as root:root, so it must exist before the first start.
make_dir 0750 root "$USER_NAME" "$ETC_DIR"
make_dir 0750 "$USER_NAME" "$USER_NAME" "$STATE_DIR"
# Models are root's and read-only to the services; setgid so fetched files get the group.
make_dir 2750 root "$USER_NAME" "$MODELS_DIR"
make_dir 0755 root root "$OPT_DIR"
make_dir 0755 root root "$OPT_DIR/share"
make_dir 0755 root root "$DOC_DIR"
[ -z "$DESTDIR" ] || make_dir 0755 root root "$UNIT_DIR"

# --- units and docs ------------------------------------------------------------------------
for unit in "${UNITS[@]}"; do
    put 0644 root root "$SOURCE/systemd/$unit" "$UNIT_DIR/$unit"
done
put 0644 root root "$SOURCE/systemd/README.md" "$DOC_DIR/README.md"

# --- config and credentials ----------------------------------------------------------------
if [ -e "$DESTDIR$ETC_DIR/station.toml" ]; then
    note "keeping existing $ETC_DIR/station.toml"
else
    put 0640 root "$USER_NAME" "$SOURCE/config/station.example.toml" "$ETC_DIR/station.toml"
fi
# HQ has its own config file; only a box that is its own HQ gets one.
if [ "$WITH_HQ" = 1 ]; then
    if [ -e "$DESTDIR$ETC_DIR/hq.toml" ]; then
        note "keeping existing $ETC_DIR/hq.toml"
    else
        put 0640 root "$USER_NAME" "$SOURCE/config/hq.example.toml" "$ETC_DIR/hq.toml"
    fi
fi

CREDENTIALS=$ETC_DIR/mqtt.credentials
if [ -e "$DESTDIR$CREDENTIALS" ]; then
    note "keeping existing $CREDENTIALS (mode and owner enforced)"
else
    placeholder=$(mktemp)
    trap 'rm -f "$placeholder"' EXIT
    cat >"$placeholder" <<'EOF'
# MQTT login of this station, read by cx-sync (sync.credentials_file). Keep mode 0600.
username = ""
password = ""
EOF
    put 0600 "$USER_NAME" "$USER_NAME" "$placeholder" "$CREDENTIALS"
fi
# Re-asserted on every run: a copy made with the wrong umask must not stay world-readable.
run chmod 0600 "$DESTDIR$CREDENTIALS"
[ -n "$DESTDIR" ] || run chown "$USER_NAME:$USER_NAME" "$CREDENTIALS"

# --- code and models -----------------------------------------------------------------------
if [ "$DO_VENV" = 1 ]; then
    # The venv is world-readable code; only the config and the data are private.
    if [ -x "$DESTDIR$VENV_DIR/bin/python" ]; then
        note "upgrading the venv in $VENV_DIR"
    else
        (umask 022; run "$PYTHON" -m venv "$DESTDIR$VENV_DIR")
    fi
    # [prep] brings `onnx`, which `models fetch` needs to prepare some of the models.
    (umask 022; run env -u PYTHONPATH "$DESTDIR$VENV_DIR/bin/pip" install \
        --disable-pip-version-check --upgrade "$SOURCE[prep]")
fi
if [ "$DO_MODELS" = 1 ]; then
    python="$DESTDIR$VENV_DIR/bin/python"
    [ "$DRY_RUN" = 1 ] || [ -x "$python" ] || die "$python is missing (run without --no-venv first)"
    # `cx-station models fetch`, run from the checkout: the model manifest and the models
    # converted once (models/) live in the repository, not in the installed package.
    (cd "$SOURCE" && run env -u PYTHONPATH "$python" -m station.cli models fetch \
        --models-dir "$DESTDIR$MODELS_DIR")
fi

# --- systemd -------------------------------------------------------------------------------
# One cx-vision@ID per camera of the station's config ([[vision.cameras]]; the single-camera
# [vision] form is "main"), read by cx-station itself so the ids are the validated ones.
station_config="$DESTDIR$ETC_DIR/station.toml"
# a dry run placed nothing: the example is what it would have placed
[ -e "$station_config" ] || station_config="$SOURCE/config/station.example.toml"
# A config being edited that does not load yet must not block installing the code: no camera
# is enabled then, and the note says how to do it once the config is right.
if [ -x "$DESTDIR$VENV_DIR/bin/python" ]; then
    list_cameras() { env -u PYTHONPATH "$DESTDIR$VENV_DIR/bin/python" -m station.cli config \
                     cameras "$station_config"; }
else
    list_cameras() { (cd "$SOURCE" && PYTHONPATH="$SOURCE" "$PYTHON" -m station.cli config \
                      cameras "$station_config"); }
fi
if ! cameras=$(list_cameras); then
    cameras=""
    echo "install.sh: warning: $ETC_DIR/station.toml does not load (above), so no cx-vision" \
         "is enabled; once it does, enable one per camera: systemctl enable" \
         "cx-vision@ID.service for each ID of \`cx-station config cameras $ETC_DIR/station.toml\`" >&2
fi
VISION=()
for camera in $cameras; do
    VISION+=("cx-vision@$camera.service")
done
ENABLE=("${VISION[@]}" "${ENABLE[@]}")
# The dashboard refuses to start without a user to log in: it is enabled only where the HQ
# config names one ([[web.users]], hashes from `cx-hq passwd`).
if [ "$WITH_HQ" = 1 ]; then
    hq_config="$DESTDIR$ETC_DIR/hq.toml"
    [ -e "$hq_config" ] || hq_config="$SOURCE/config/hq.example.toml"
    has_web_users='import sys; from hq.config import load_hq_config
sys.exit(0 if load_hq_config(sys.argv[1]).web.users else 3)'
    if [ -x "$DESTDIR$VENV_DIR/bin/python" ]; then
        web_users() { env -u PYTHONPATH "$DESTDIR$VENV_DIR/bin/python" -c "$has_web_users" \
                      "$hq_config"; }
    else
        web_users() { (cd "$SOURCE" && PYTHONPATH="$SOURCE" "$PYTHON" -c "$has_web_users" \
                       "$hq_config"); }
    fi
    status=0
    web_users || status=$?
    if [ "$status" = 0 ]; then
        ENABLE=("${ENABLE[@]:0:${#ENABLE[@]}-1}" cx-hq-web.service cx-station.target)
    elif [ "$status" = 3 ]; then
        note "no [[web.users]] in $ETC_DIR/hq.toml: the dashboard (cx-hq-web.service) is" \
             "not enabled; add users (hashes from \`cx-hq passwd\`), then: systemctl enable" \
             "--now cx-hq-web.service"
    else
        echo "install.sh: warning: $ETC_DIR/hq.toml does not load (above), so the dashboard" \
             "(cx-hq-web.service) is not enabled; once it does: systemctl enable --now" \
             "cx-hq-web.service" >&2
    fi
fi
# Enabling only creates symlinks, which systemctl --root does without a running systemd: so an
# image built in a chroot, or a --destdir tree, boots into the station too.
if ! command -v systemctl >/dev/null; then
    note "systemctl not found: enable on the target box: systemctl enable ${ENABLE[*]}"
elif [ -n "$DESTDIR" ]; then
    run systemctl --root="$DESTDIR" enable "${ENABLE[@]}"
elif [ -d /run/systemd/system ]; then
    run systemctl daemon-reload
    run systemctl enable "${ENABLE[@]}"
else
    note "systemd is not running as PID 1 here: enabling offline, no daemon-reload"
    run systemctl --root=/ enable "${ENABLE[@]}"
fi
if [ -z "$DESTDIR" ]; then
    note "installed. Edit $ETC_DIR/station.toml and $CREDENTIALS, check the config with"
    note "  $VENV_DIR/bin/cx-station config check $ETC_DIR/station.toml"
    note "then: systemctl start cx-station.target"
    note "      journalctl -u 'cx-vision@*' -u cx-kiosk -u cx-sync -u cx-watch -f"
fi
