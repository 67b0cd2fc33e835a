# Writes typed_v73.mat: valid HDF5 in a MATLAB v7.3 wrapper holding types Karma does not read (float16, a compound, an
# enum) and a float32 cube without a MATLAB_class attribute (as h5py writes it), for MatFileTests.
import h5py, numpy as np
header = b'MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Nov 30 00:00:00 2026 HDF5 schema 1.00 .'
header = header.ljust(116, b' ') + b'\x00' * 8 + b'\x00\x02' + b'IM'
with h5py.File('typed_v73.mat', 'w', userblock_size=512) as f:
    f.create_dataset('plain', data=np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    d = f.create_dataset('half', data=np.ones((2, 3, 4), dtype=np.float16))
    d.attrs['MATLAB_class'] = np.bytes_('single')
    f.create_dataset('pairs', data=np.zeros((3, 4), dtype=[('a', '<f4'), ('b', '<i4')]))
    f.create_dataset('colours', data=np.zeros((3, 4), dtype=h5py.enum_dtype({'red': 0, 'green': 1}, basetype='i1')))
with open('typed_v73.mat', 'r+b') as fh:
    fh.write(header.ljust(512, b'\x00'))
