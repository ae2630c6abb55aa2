#!/bin/sh
# What the browser tests (tests/browser) need from the system: Debian's chromium and a Chinese
# font (fonts-noto-cjk). `make test` runs this first: when either is missing it installs both
# with apt-get (through sudo when not root) and says so; without apt-get it fails saying what
# to install. Playwright's own browser downloads are never used (no such network here).
set -eu

PACKAGES="chromium fonts-noto-cjk"
FONT=/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

has_font() {
    # The question Chromium asks fontconfig; the Debian path where there is no fc-list.
    if command -v fc-list >/dev/null 2>&1; then
        [ -n "$(fc-list :lang=zh-cn family)" ]
    else
        [ -e "$FONT" ]
    fi
}

if command -v chromium >/dev/null 2>&1 && has_font; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "make test: the browser tests need Chromium (a 'chromium' on PATH) and a Chinese font" >&2
    echo "  known to fontconfig; this machine has no apt-get: install your system's packages" >&2
    echo "  for Debian's '$PACKAGES', then run make test again." >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "make test: the browser tests need '$PACKAGES'; as root run:" >&2
        echo "  apt-get update && apt-get install -y $PACKAGES" >&2
        exit 1
    fi
    SUDO=sudo
fi

echo "make test: the browser tests need '$PACKAGES'; installing them:"
echo "  ${SUDO:+$SUDO }apt-get update && ${SUDO:+$SUDO }apt-get install -y $PACKAGES"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
# shellcheck disable=SC2086  # PACKAGES is a list of names
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $PACKAGES
command -v chromium >/dev/null 2>&1 && has_font || {
    echo "make test: apt-get installed '$PACKAGES' but chromium or the font is still missing" >&2
    exit 1
}
