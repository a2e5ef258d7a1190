#!/usr/bin/env bash
# Installs Bazel 4 (Debian's `bazel-bootstrap`, 4.2.3 on Debian 12) from the package registry
# if `bazel` is not on PATH. Used by `make bazel-test` / `make bazel-quick` and .ci/run.
# Root runs apt-get directly, others through `sudo -n` (no password prompt). Elsewhere:
# install Bazel 4.2 yourself (docs/bazel.md).
set -euo pipefail
BAZEL=${BAZEL:-bazel}
if command -v "$BAZEL" >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_bazel.sh: no '$BAZEL' and no apt-get: install Bazel 4.2 (docs/bazel.md)." >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "install_bazel.sh: need root or password-less sudo for" \
       "'apt-get install -y bazel-bootstrap' (or install Bazel 4.2 yourself)." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "install_bazel.sh: apt-get install -y bazel-bootstrap" >&2
if ! "${as_root[@]}" apt-get install -y bazel-bootstrap; then
  # A fresh image may have no package lists yet.
  "${as_root[@]}" apt-get update
  "${as_root[@]}" apt-get install -y bazel-bootstrap
fi
command -v bazel >/dev/null
echo "install_bazel.sh: installed $(command -v bazel)" >&2
