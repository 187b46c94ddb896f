#!/usr/bin/env bash
# Smoke test under a real systemd: boot a throw-away copy of this Debian machine (systemd-nspawn
# on an overlay of /, writes go to RAM), install CX Station into it with install.sh (venv, pip,
# models, user, units, systemctl enable), start cx-station.target with the demo config, wait past
# the watchdog, and check that every service is up with no restart, that cx-watch runs its alert
# hook inside its sandbox, and that events reached the HQ database through the box's mosquitto.
#
#   sudo systemd/smoke-nspawn.sh            # about 3 minutes; leaves nothing behind
#
# Needs: root, Debian packages systemd-container and mosquitto, network for pip. The container
# has no display, so the kiosk runs with a drop-in QT_QPA_PLATFORM=offscreen; everything else is
# the shipped units unchanged.
set -euo pipefail

SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WAIT_S=${WAIT_S:-65}                      # > WatchdogSec (60s at most): a missed one would show
[ "$(id -u)" = 0 ] || { echo "smoke-nspawn.sh: run as root" >&2; exit 1; }
command -v systemd-nspawn >/dev/null || { echo "smoke-nspawn.sh: apt-get install systemd-container" >&2; exit 1; }

WORK=$(mktemp -d /tmp/cx-smoke.XXXXXX)
M=$WORK/root
NSPAWN_PID=""
cleanup() {
    set +e
    [ -n "$NSPAWN_PID" ] && kill "$NSPAWN_PID" 2>/dev/null && wait "$NSPAWN_PID" 2>/dev/null
    for mnt in "$M/proc" "$M/dev" "$M" "$WORK/rw"; do
        mountpoint -q "$mnt" && umount "$mnt"
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/rw" "$M"
mount -t tmpfs -o size=6g tmpfs "$WORK/rw"
mkdir -p "$WORK/rw/upper" "$WORK/rw/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$WORK/rw/upper,workdir=$WORK/rw/work" "$M"
# A copy of the checkout: an overlay may show stale content for files changed under it later.
mkdir -p "$M/root/cx-src"
tar -C "$SOURCE" --exclude=./.venv --exclude=./.git --exclude=./var --exclude='*.db*' -cf - . \
    | tar -C "$M/root/cx-src" -xf -
rm -rf "$M/etc/cx-station" "$M/opt/cx-station" "$M/var/lib/cx-station"

# Install as on a fresh box. chroot shares this machine's network, which pip needs.
mount --bind /dev "$M/dev"
mount -t proc proc "$M/proc"
chroot "$M" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    bash /root/cx-src/systemd/install.sh --with-hq --python /usr/bin/python3 >"$WORK/install.log" 2>&1 \
    || { tail -30 "$WORK/install.log"; echo "smoke-nspawn.sh: install.sh failed" >&2; exit 1; }
umount "$M/proc" "$M/dev"

# The demo config, with its paths moved to where a real box keeps them.
clip=/work/shared/data/pets2009-s2l1/vtest.avi
[ -f "$clip" ] || clip=""
sed -e 's#^path = .*station.db"#path = "/var/lib/cx-station/station.db"#' \
    -e "s#^camera = .*#camera = \"$clip\"#" \
    -e 's#^models_dir = .*#models_dir = "/var/lib/cx-station/models"#' \
    -e 's#^broker_port = .*#broker_port = 1883#' -e 's#^port = .*#port = 1883#' \
    -e 's#^database = .*#database = "/var/lib/cx-station/hq.db"#' \
    -e 's#^report_path = .*#report_path = "/var/lib/cx-station/hq-report.html"#' \
    -e 's#^managed = true#managed = false#' \
    -e 's#^data_dir = .*#data_dir = "/var/lib/cx-station/mosquitto"#' \
    -e 's#^logo = "\([^"/]*\)"#logo = "/etc/cx-station/\1"#' \
    "$SOURCE/config/demo.toml" >"$M/etc/cx-station/station.toml"
# the demo's logo beside its config, as an installed station keeps it
for logo in "$SOURCE"/config/demo-logo.*; do
    if [ -e "$logo" ]; then install -m 0644 "$logo" "$M/etc/cx-station/"; fi
done
# cx-watch's alert hook as README.md sets it up: the example chat webhook, run inside cx-watch's
# sandbox (exec, IPv4), posting to a stand-in chat server on the container's loopback.
install -d -m 0750 "$M/etc/cx-station/hooks"
install -m 0640 "$SOURCE/config/hooks/chat-webhook.py" "$M/etc/cx-station/hooks/"
chroot "$M" chgrp -R cx-station /etc/cx-station/hooks
CHAT_PORT=18765
grep -q '^\[alerts\]' "$M/etc/cx-station/station.toml" \
    || cat >>"$M/etc/cx-station/station.toml" <<EOF

[alerts]
command = ["/opt/cx-station/venv/bin/python", "/etc/cx-station/hooks/chat-webhook.py",
           "http://127.0.0.1:$CHAT_PORT/hooks/smoke"]
EOF
mkdir -p "$M/etc/systemd/system/cx-kiosk.service.d"
printf '[Service]\nEnvironment=QT_QPA_PLATFORM=offscreen\n' \
    >"$M/etc/systemd/system/cx-kiosk.service.d/smoke-offscreen.conf"

systemd-nspawn -D "$M" --boot --register=no --keep-unit --private-network \
    -M "cx-smoke-$$" >"$WORK/console.log" 2>&1 &
NSPAWN_PID=$!
leader=""
booted=""
for _ in $(seq 120); do
    leader=${leader:-$(pgrep -P "$NSPAWN_PID" | head -1 || true)}
    if [ -n "$leader" ]; then
        booted=$(nsenter -t "$leader" -a systemctl is-system-running --wait 2>/dev/null || true)
        case "$booted" in running|degraded) break ;; esac
    fi
    sleep 1
done
case "$booted" in
    running|degraded) ;;
    *) tail -30 "$WORK/console.log"; echo "smoke-nspawn.sh: container did not boot" >&2; exit 1 ;;
esac
inside() { nsenter -t "$leader" -a "$@"; }

# install.sh enabled the target, which multi-user.target wants: it must have come up at boot.
failed=0
inside systemctl is-active --quiet mosquitto || inside systemctl start mosquitto
at_boot=$(inside systemctl is-active cx-station.target || true)
echo "cx-station.target after boot: $at_boot"
[ "$at_boot" = active ] || failed=1
sleep "$WAIT_S"
for unit in cx-vision@main cx-kiosk cx-sync cx-watch cx-hq; do
    state=$(inside systemctl show "$unit" -p ActiveState --value)
    restarts=$(inside systemctl show "$unit" -p NRestarts --value)
    status=$(inside systemctl show "$unit" -p StatusText --value)
    echo "$unit: $state, $restarts restarts, status: $status"
    if [ "$state" != active ] || [ "$restarts" != 0 ]; then
        failed=1
        inside journalctl -u "$unit" --no-pager -n 20
    fi
    inside systemd-analyze security "$unit" --no-pager 2>/dev/null | tail -1 || true
done
# New survey answers with detractors: cx-watch must run the hook for their alert, and the hook
# must reach the chat server.
inside systemd-run --quiet --unit=cx-smoke-chat /usr/bin/python3 -c "
import http.server
class Chat(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        with open('/run/cx-smoke-chat.log', 'ab') as log:
            log.write(body + b'\n')
        self.send_response(200)
        self.end_headers()
http.server.HTTPServer(('127.0.0.1', $CHAT_PORT), Chat).serve_forever()"
sleep 1
inside runuser -u cx-station -- /opt/cx-station/venv/bin/cx-station simulate \
    --config /etc/cx-station/station.toml --responses 40 --seed 7 >/dev/null || failed=1
hooked=no
for _ in $(seq 30); do
    inside grep -q 'a customer answered' /run/cx-smoke-chat.log 2>/dev/null && { hooked=yes; break; }
    sleep 1
done
echo "cx-watch alert hook ran: $hooked"
[ "$hooked" = yes ] || { failed=1; inside journalctl -u cx-watch --no-pager -n 20; }
inside runuser -u cx-station -- /opt/cx-station/venv/bin/cx-hq stats \
    --config /etc/cx-station/hq.toml || failed=1
inside find /var/lib/cx-station /etc/cx-station -maxdepth 1 -printf '%M %u:%g %p\n'
[ "$failed" = 0 ] && echo "smoke-nspawn.sh: OK" || { echo "smoke-nspawn.sh: FAILED" >&2; exit 1; }
