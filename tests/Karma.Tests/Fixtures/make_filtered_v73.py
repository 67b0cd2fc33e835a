# Writes filtered_v73.mat: a MATLAB -v7.3-style file whose double cube (rows, cols, bands) = (7, 5, 6) is stored with
# shuffle + gzip + Fletcher-32 in 3×2×4 chunks (reversed dimensions, partial at every edge). Run with h5py (Debian:
# python3-h5py); MatFileTests checks every element against the formula below and that Karma's own chunk reader takes it.
import h5py, numpy as np
r, c, b = np.meshgrid(np.arange(7), np.arange(5), np.arange(6), indexing='ij')
cube = (1000.5 * r - 10.25 * c + b).astype(np.float64)
header = b'MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Nov 30 00:00:00 2026 HDF5 schema 1.00 .'
header = header.ljust(116, b' ') + b'\x00' * 8 + b'\x00\x02' + b'IM'
with h5py.File('filtered_v73.mat', 'w', userblock_size=512) as f:
    d = f.create_dataset('cube', data=cube.T, chunks=(3, 2, 4), compression='gzip', shuffle=True, fletcher32=True)
    d.attrs['MATLAB_class'] = np.bytes_('double')
with open('filtered_v73.mat', 'r+b') as fh:
    fh.write(header.ljust(512, b'\x00'))
