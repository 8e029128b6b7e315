#!/usr/bin/env bash
# Installs Debian's chromium, the browser of the console's tests (test/e2e/console.test.ts), where
# it is missing; the test setup runs it. Only the distribution's package: nothing else is fetched.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo -n)
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update
"${as_root[@]}" apt-get install -y --no-install-recommends chromium
[ -x /usr/bin/chromium ] || { echo "apt-get installed chromium but /usr/bin/chromium is missing" >&2; exit 1; }
