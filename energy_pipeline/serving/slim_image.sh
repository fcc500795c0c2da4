#!/bin/sh
# Run by the image build right after the Python packages are installed (bentofile `docker.setup_script`): drops
# what serving never runs, the installer (uv) and the test suites bundled with the numeric libraries. buildah
# commits the build as one layer over the base, so what is deleted here never reaches the image.
set -eu
for package in numpy pandas scipy sklearn; do
    find /app/.venv/lib/python3*/site-packages/"$package" -depth -type d -name tests -exec rm -rf {} +
done
python3 -m pip uninstall --yes uv >/dev/null 2>&1 || true
