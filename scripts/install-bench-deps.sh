#!/usr/bin/env bash
# Installs the Python peers of `npm run bench` from Debian: python3 (ProcessPoolExecutor is stdlib),
# numpy (W5 payloads) and distributed (Dask). Idempotent: apt is only touched when something is
# missing, so CI and repeat runs pay nothing once the machine has them.
#
# The Debian interpreter is checked by absolute path on purpose: a pyenv (or other) python3 that
# shadows it on PATH would not see the apt-installed modules.
set -euo pipefail

PY=/usr/bin/python3

have_all() {
  [ -x "$PY" ] && "$PY" -c 'import numpy, distributed' >/dev/null 2>&1
}

if have_all; then
  echo "bench deps: already present ($("$PY" -c 'import distributed, numpy; print("distributed", distributed.__version__, "numpy", numpy.__version__)'))"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends python3 python3-numpy python3-distributed >/dev/null

if have_all; then
  echo "bench deps: installed ($("$PY" -c 'import distributed, numpy; print("distributed", distributed.__version__, "numpy", numpy.__version__)'))"
else
  echo "bench deps: install finished but $PY cannot import numpy and distributed" >&2
  exit 1
fi
