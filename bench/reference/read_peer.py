"""Whole-file reads by GDAL or h5py, the peers bench/Karma.Bench times Karma's readers against.

usage: read_peer.py '{"library": "gdal"|"h5py", "path": FILE, "variable": "cube", "repetitions": 3}'
Prints JSON: samplesMs, version, setting. GDAL reopens the dataset for every read (closing it frees its blocks from
GDAL's cache, so every read decodes the file again, as Karma's does) and is timed with GDAL_NUM_THREADS unset and
ALL_CPUS, keeping the faster: the peer gets its best setting on this machine.
"""
import json
import statistics
import sys
import time


def timed(read, repetitions):
    read()                                    # warm-up: page cache, imports, codec tables
    samples = []
    for _ in range(repetitions):
        t0 = time.perf_counter()
        read()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def main():
    spec = json.loads(sys.argv[1])
    path, repetitions = spec["path"], spec.get("repetitions", 3)
    if spec["library"] == "gdal":
        from osgeo import gdal
        gdal.UseExceptions()

        def read():
            ds = gdal.Open(path)
            ds.ReadAsArray()
            ds = None

        best = None
        for threads in (None, "ALL_CPUS"):
            gdal.SetConfigOption("GDAL_NUM_THREADS", threads)
            samples = timed(read, repetitions)
            if best is None or statistics.median(samples) < statistics.median(best[0]):
                best = (samples, f"GDAL_NUM_THREADS={threads or 'unset'}")
        samples, setting, version = best[0], best[1], gdal.__version__
    else:
        import h5py

        def read():
            with h5py.File(path, "r") as f:
                f[spec.get("variable", "cube")][()]

        samples, setting, version = timed(read, repetitions), "default chunk cache", h5py.__version__
    print(json.dumps({"samplesMs": samples, "version": version, "setting": setting}))


if __name__ == "__main__":
    main()
