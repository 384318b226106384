#!/usr/bin/env bash
# Prepare a clone of Yhteys for development and tests.
#
#   1. Debian packages the tests need (chromium, dovecot-imapd, swaks, nginx), only when
#      missing; apt's lock is waited for (another apt may be running at boot).
#   2. Python virtualenv in .venv with `pip install -e '.[dev]'`, redone only when
#      pyproject.toml changed (sha256 stamp in .venv).
#   3. Front-end packages from package.json / package-lock.json into node_modules,
#      redone only when those files changed (sha256 stamp in node_modules).
#
# Idempotent: a second run on an unchanged tree installs nothing and takes well under a second.
# Never runs `playwright install`: the Python playwright package drives Debian's
# /usr/bin/chromium through executable_path.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf 'setup: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Hash of the given files' contents (order matters), used for the stamps below.
hash_files() { cat "$@" | sha256sum | cut -d' ' -f1; }

# --- 1. Debian packages -------------------------------------------------------------------
# `setup.sh --run` (make run) skips the test tools; serving needs pango (WeasyPrint's letters).
RUN_PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0)
APT_PACKAGES=(chromium dovecot-imapd swaks nginx "${RUN_PACKAGES[@]}")
[[ ${1:-} == --run ]] && APT_PACKAGES=("${RUN_PACKAGES[@]}")
missing=()
for pkg in "${APT_PACKAGES[@]+"${APT_PACKAGES[@]}"}"; do
    # dpkg -s alone also succeeds for removed packages whose config files remain.
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed'; then
        missing+=("$pkg")
    fi
done
if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]]; then
        log "installing Debian packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get -o DPkg::Lock::Timeout=600 update -qq
        apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
    else
        log "WARNING: missing Debian packages: ${missing[*]}"
        log "         install them as root: apt-get install --no-install-recommends ${missing[*]}"
        log "         (tests that need a browser or an IMAP server will fail without them)"
    fi
fi

# --- 2. Python virtualenv -------------------------------------------------------------------
PY="${PYTHON:-python3}"
command -v "$PY" >/dev/null || die "$PY not found (Python >= 3.11 required)"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "$PY is $("$PY" -V 2>&1); Python >= 3.11 required"

if ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    log "creating .venv with $("$PY" -V 2>&1)"
    rm -rf .venv
    "$PY" -m venv .venv
fi

PY_STAMP=.venv/.yhteys-pyproject.sha256
py_hash="$(hash_files pyproject.toml)"
if [[ "$(cat "$PY_STAMP" 2>/dev/null || true)" != "$py_hash" ]]; then
    log "installing Python dependencies (pip install -e '.[dev]')"
    rm -f "$PY_STAMP"   # a failed install must not leave an old stamp behind
    .venv/bin/python -m pip install -qq --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install -qq --disable-pip-version-check -e '.[dev]'
    echo "$py_hash" >"$PY_STAMP"
fi

# --- 3. Front-end packages -----------------------------------------------------------------
[[ -f package.json ]] || die "package.json missing at $ROOT"
command -v npm >/dev/null || die "npm not found (Node.js 20 + npm required)"

NPM_STAMP=node_modules/.yhteys-lock.sha256
lock_hash() { hash_files package.json package-lock.json 2>/dev/null || true; }
if [[ ! -f package-lock.json || "$(cat "$NPM_STAMP" 2>/dev/null || true)" != "$(lock_hash)" ]]; then
    if [[ -f package-lock.json ]]; then
        log "installing front-end packages (npm ci)"
        npm ci --no-audit --no-fund --loglevel=error
    else
        # First install: writes package-lock.json, which belongs in git.
        log "installing front-end packages (npm install; commit package-lock.json)"
        npm install --no-audit --no-fund --loglevel=error
    fi
    lock_hash >"$NPM_STAMP"
fi

log "ready"
