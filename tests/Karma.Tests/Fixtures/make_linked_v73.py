# Writes linked_v73.mat: a MATLAB v7.3 layout whose links form cycles (a soft link to itself, two soft links to each
# other, a group holding a hard link to its parent, an external link to the same file) beside one real 4x3x2 cube.
# Run with h5py (Debian: python3-h5py); MatFileTests checks Karma lists and reads the cube and never follows a cycle.
import h5py, numpy as np
header = b'MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Nov 30 00:00:00 2026 HDF5 schema 1.00 .'
header = header.ljust(116, b' ') + b'\x00' * 8 + b'\x00\x02' + b'IM'
with h5py.File('linked_v73.mat', 'w', userblock_size=512) as f:
    d = f.create_dataset('cube', data=np.arange(24, dtype=np.float64).reshape(2, 3, 4))
    d.attrs['MATLAB_class'] = np.bytes_('double')
    f['self'] = h5py.SoftLink('/self')
    f['a'] = h5py.SoftLink('/b')
    f['b'] = h5py.SoftLink('/a')
    g = f.create_group('group')
    g['up'] = f                                   # hard link back to the root: group/up/group/up/...
    f['ext'] = h5py.ExternalLink('linked_v73.mat', '/ext')
with open('linked_v73.mat', 'r+b') as fh:
    fh.write(header.ljust(512, b'\x00'))
