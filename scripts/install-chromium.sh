#!/usr/bin/env bash
# Installs Debian's chromium, the browser of the console's tests (test/e2e/console.test.ts), where
# it is missing; the test setup runs it. Only the distribution's package: nothing else is fetched.
set -euo pipefail
exec bash "$(dirname "$0")/apt-install.sh" chromium /usr/bin/chromium
