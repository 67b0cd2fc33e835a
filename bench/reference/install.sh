#!/bin/sh
# Installs the PyTorch peer that bench/Karma.Bench measures Karma against (a measuring stick only;
# Karma itself never needs Python). Debian's python3-torch (1.13, CPU) runs on whatever libblas.so.3
# is installed; the default reference BLAS is ~50x slower than OpenBLAS here, so install OpenBLAS
# (pthread build) too, or the comparison is unfair to PyTorch. GDAL's and h5py's Python bindings are the peers of
# the read rows (bench/reference/read_peer.py).
set -e
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get install -y python3-torch libopenblas0-pthread python3-gdal python3-h5py
/usr/bin/python3 -c 'import torch, h5py; from osgeo import gdal; print("peers ready: torch", torch.__version__, "gdal", gdal.__version__, "h5py", h5py.__version__)'
