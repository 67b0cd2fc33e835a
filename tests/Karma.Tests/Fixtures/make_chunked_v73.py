# Writes chunked_v73.mat the way MATLAB -v7.3 lays files out (512-byte header, dimensions reversed, deflated chunks),
# with chunks that do not divide the dimensions, so every axis ends in a partial chunk. Run with h5py (Debian:
# python3-h5py); MatFileTests checks every element against the formula below.
import h5py, numpy as np
r, c, b = np.meshgrid(np.arange(13), np.arange(11), np.arange(9), indexing='ij')
cube = (10000 * r + 100 * c + b).astype(np.float32)          # MATLAB (rows, cols, bands) = (13, 11, 9), exact in float32
labels = ((r[:, :, 0] * 11 + c[:, :, 0]) % 251).astype(np.uint8)
header = b'MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Nov 30 00:00:00 2026 HDF5 schema 1.00 .'
header = header.ljust(116, b' ') + b'\x00' * 8 + b'\x00\x02' + b'IM'
with h5py.File('chunked_v73.mat', 'w', userblock_size=512) as f:
    d = f.create_dataset('cube', data=cube.T, chunks=(4, 3, 2), compression='gzip', compression_opts=4)
    d.attrs['MATLAB_class'] = np.bytes_('single')
    d = f.create_dataset('labels', data=labels.T, chunks=(5, 4), compression='gzip', shuffle=True)
    d.attrs['MATLAB_class'] = np.bytes_('uint8')
with open('chunked_v73.mat', 'r+b') as fh:
    fh.write(header.ljust(512, b'\x00'))
