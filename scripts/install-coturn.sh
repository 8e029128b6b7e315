#!/usr/bin/env bash
# Installs Debian's coturn, the TURN server of calls on the local stack (src/infra/stack/coturn-server.ts),
# where it is missing; `quikchat stack up` runs it. Only the distribution's package: nothing else is fetched.
# The package's own coturn (port 3478, relaying from 49152-65535, which overlaps the stack's relay
# ports) must not run beside the stack's: under systemd the package enables and starts it, so it is
# stopped and disabled here; without systemd its init script starts nothing unless
# /etc/default/coturn says TURNSERVER_ENABLED=1, and a daemon it started is stopped by its own pid
# file only (`/etc/init.d/coturn stop` would kill every turnserver, the stack's among them).
set -euo pipefail
[ -x /usr/bin/turnserver ] && exit 0
bash "$(dirname "$0")/apt-install.sh" coturn /usr/bin/turnserver
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo -n)
if [ -d /run/systemd/system ]; then
  "${as_root[@]}" systemctl disable --now coturn.service
elif [ -f /var/run/turnserver.pid ]; then
  "${as_root[@]}" start-stop-daemon --stop --quiet --oknodo --retry=TERM/10/KILL/5 --pidfile /var/run/turnserver.pid --name turnserver
fi
