# Writes filtered_v73.mat: a MATLAB -v7.3-style file whose double cube (rows, cols, bands) = (7, 5, 6) is stored with
# shuffle + gzip + Fletcher-32 in 3×2×4 chunks (reversed dimensions, partial at every edge), and the same cube again as
# 'early' with Fletcher-32 first (as h5py 2.x and HDF5 1.6-era writers ordered it: the checksum is then inside the
# deflated bytes). Run with h5py (Debian: python3-h5py); MatFileTests checks every element against the formula below
# and that Karma's own chunk reader takes both.
import h5py, numpy as np
r, c, b = np.meshgrid(np.arange(7), np.arange(5), np.arange(6), indexing='ij')
cube = (1000.5 * r - 10.25 * c + b).astype(np.float64)
header = b'MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Nov 30 00:00:00 2026 HDF5 schema 1.00 .'
header = header.ljust(116, b' ') + b'\x00' * 8 + b'\x00\x02' + b'IM'
with h5py.File('filtered_v73.mat', 'w', userblock_size=512) as f:
    d = f.create_dataset('cube', data=cube.T, chunks=(3, 2, 4), compression='gzip', shuffle=True, fletcher32=True)
    d.attrs['MATLAB_class'] = np.bytes_('double')
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_chunk((3, 2, 4))
    dcpl.set_fletcher32()                       # applied first: deflate then compresses data and checksum together
    dcpl.set_shuffle()
    dcpl.set_deflate(6)
    space = h5py.h5s.create_simple(cube.T.shape)
    early = h5py.h5d.create(f.id, b'early', h5py.h5t.IEEE_F64LE, space, dcpl=dcpl)
    early.write(h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(cube.T))
    f['early'].attrs['MATLAB_class'] = np.bytes_('double')
with open('filtered_v73.mat', 'r+b') as fh:
    fh.write(header.ljust(512, b'\x00'))
