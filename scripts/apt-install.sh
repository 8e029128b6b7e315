#!/usr/bin/env bash
# `apt-install.sh <package> <executable>`: installs Debian's <package> unless <executable> is already
# there, as root or through `sudo -n`, and fails loudly if it cannot. Only the distribution's
# package: nothing else is fetched. The install scripts of the machine's tools run it.
set -euo pipefail
package=$1
executable=$2
[ -x "$executable" ] && exit 0
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo -n)
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update
"${as_root[@]}" apt-get install -y --no-install-recommends "$package"
[ -x "$executable" ] || { echo "apt-get installed $package but $executable is missing" >&2; exit 1; }
