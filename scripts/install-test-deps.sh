#!/usr/bin/env bash
# Installs the Debian packages the test suite needs (real sshd for remote-launch
# tests, ps/ip for process and address checks, chromium for the browser test).
#
# Idempotent and fast on re-runs: when every package is already installed the
# apt step (including `apt-get update`) is skipped entirely.
#
# Works as root in CI (fresh clone, CI=true, no stdin). When not root it falls
# back to `sudo -n` (non-interactive: never prompts, fails instead).
#
# It never starts sshd: the tests start their own sshd on loopback aliases.
# Installing openssh-server would normally start the system ssh service on
# 0.0.0.0:22 from the package's postinst; a temporary policy-rc.d forbids that.
set -euo pipefail

PACKAGES=(
  openssh-server # /usr/sbin/sshd, started per test by test/support/sshd.ts
  openssh-client # ssh, ssh-keygen
  procps         # ps: tests look for leftover processes
  iproute2       # ip: loopback address checks
  chromium       # browser-based test (later)
)

# dpkg's own status is the cheap, authoritative check ("ii " = installed OK).
missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
  if [[ "$status" != "ii "* ]]; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-test-deps: all packages already installed (${PACKAGES[*]})"
  exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
  else
    echo "install-test-deps: must run as root (or with passwordless sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "install-test-deps: installing ${missing[*]}"

# Keep the package's postinst from starting a system sshd (invoke-rc.d and
# deb-systemd-invoke both honour policy-rc.d; exit 101 = "action forbidden").
# Only install our own if none exists, and only remove the one we created.
POLICY=/usr/sbin/policy-rc.d
created_policy=0
cleanup() {
  if [[ $created_policy -eq 1 ]]; then
    "${SUDO[@]}" rm -f "$POLICY"
  fi
}
trap cleanup EXIT
if [[ ! -e "$POLICY" ]]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
  "${SUDO[@]}" chmod 755 "$POLICY"
  created_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
# </dev/null: no stdin in CI, and nothing must wait for an answer anyway.
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update </dev/null
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  "${missing[@]}" </dev/null

echo "install-test-deps: done"
