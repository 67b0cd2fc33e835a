"""Writes a MATLAB -v7.3 file with the HDF5 library (through h5py), as MATLAB itself does, for bench/Karma.Bench.

usage: write_v73.py RAW OUT ROWS COLS BANDS
RAW holds float32 values in [band][row][col] order. OUT gets MATLAB's layout: a 512-byte MATLAB header, the HDF5 file
after it, the rows × cols × bands single array stored with reversed dimensions ([band][col][row]) in deflated chunks of
64 × 100 × 2 (clipped), level 1, with the MATLAB_class attribute, and HDF5's default (earliest) format: layout messages
v3 with B-tree v1 chunk indexes, which is what MATLAB files hold.
"""
import sys

import h5py
import numpy as np


def main():
    raw, out, rows, cols, bands = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
    cube = np.fromfile(raw, dtype="<f4").reshape(bands, rows, cols)
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created by: Karma.Bench via h5py HDF5 schema 1.00 ."
    header = header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"
    with h5py.File(out, "w", userblock_size=512) as f:
        d = f.create_dataset("cube", data=np.ascontiguousarray(cube.transpose(0, 2, 1)),
                             chunks=(min(64, bands), min(100, cols), min(2, rows)), compression="gzip", compression_opts=1)
        d.attrs["MATLAB_class"] = np.bytes_("single")
    with open(out, "r+b") as fh:
        fh.write(header.ljust(512, b"\x00"))


if __name__ == "__main__":
    main()
