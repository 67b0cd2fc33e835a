#!/usr/bin/env python3
"""ROC AUC of every candidate karma anomaly score (README, "Anomaly detection"), from the maps `karma anomaly` wrote.

The candidates are global and local RX of the physics residual, global RX of the context residual, and sums of their
robust z-values (median and MAD, as ContextDetector.RobustZ); RX and local RX are the baselines. Reads each
RUN_DIR/NAME-maps/anomaly.tif with NAME-truth.tif beside it (as anomaly-implant.sh leaves them), prints one line per
scene and the mean per folder and over all of them. Needs numpy, scipy and GDAL's Python bindings.
usage: docs/experiments/anomaly-candidates.py RUN_DIR [RUN_DIR ...]
"""
import glob, os, re, sys, numpy as np
from osgeo import gdal
from scipy.stats import rankdata
def auc(s,y):
    m=np.isfinite(s); s=s[m]; y=y[m]; r=rankdata(s); n1=y.sum(); n0=len(y)-n1
    return (r[y].sum()-n1*(n1+1)/2)/(n1*n0)
def z(v):
    f=v[np.isfinite(v)]; med=np.median(f); mad=np.median(np.abs(f-med))*1.4826
    if not mad > 0: mad=max(f.max()-f.min(),1e-12) if len(f)>1 else 1   # as ContextDetector.RobustZ
    return (v-med)/mad
out={}
for d in sys.argv[1:]:
    tag=os.path.basename(os.path.normpath(d))
    for f in sorted(glob.glob(d+'/*-truth.tif')):
        n=os.path.basename(f)[:-len('-truth.tif')]
        if not re.search(r'-\d+$', n): continue
        ds=gdal.Open(f'{d}/{n}-maps/anomaly.tif')
        mp={ds.GetRasterBand(i+1).GetDescription().replace(' score',''):ds.GetRasterBand(i+1).ReadAsArray().ravel().astype(float) for i in range(ds.RasterCount)}
        y=gdal.Open(f).ReadAsArray().ravel()>0
        pl,ph,cx=mp['karma-physics-local'],mp['karma-physics'],mp['karma-context']
        c={'physics-local':pl,'global-local':z(ph)+z(pl),'all':z(cx)+z(ph)+z(pl),'context+physics':z(cx)+z(ph),'physics':ph,'context':cx,'rx':mp['rx'],'local-rx':mp['local-rx']}
        out[tag+':'+n]={k:auc(v,y) for k,v in c.items()}
if not out: sys.exit('found no NAME-SEED-truth.tif with NAME-SEED-maps/anomaly.tif in ' + ' '.join(sys.argv[1:]))
keys=list(next(iter(out.values())))
for n,r in out.items(): print('%-30s'%n,' '.join('%s=%.4f'%(k,r[k]) for k in keys))
for d in sys.argv[1:]:
    tag=os.path.basename(os.path.normpath(d)); rs=[r for n,r in out.items() if n.startswith(tag+':')]
    print('mean %-20s'%tag,' '.join('%s=%.4f'%(k,np.mean([r[k] for r in rs])) for k in keys))
print('mean all rounds      ',' '.join('%s=%.4f'%(k,np.mean([r[k] for r in out.values()])) for k in keys))
