#!/usr/bin/env bash
# Install what the browser tests need: Debian's chromium (system package).
# The Playwright Python package comes from pyproject's dev extras (pip), and we never run
# `playwright install`: the tests drive /usr/bin/chromium through its executable path.
# Idempotent: quiet when everything is already there.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-browser: $CHROMIUM is missing and we are not root;" \
         "install it with: sudo apt-get install -y chromium (browser tests will skip)" >&2
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: $CHROMIUM is missing and apt-get is not available;" \
         "install Chromium by hand (browser tests will skip)" >&2
    exit 0
fi

echo "install-browser: installing Debian's chromium (apt-get update && apt-get install -y chromium)"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq >/dev/null; then
    echo "install-browser: apt-get update failed; browser tests will skip" >&2
    exit 1
fi
if ! apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
    echo "install-browser: apt-get install chromium failed; browser tests will skip" >&2
    exit 1
fi
echo "install-browser: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
