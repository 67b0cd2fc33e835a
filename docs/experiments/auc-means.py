#!/usr/bin/env python3
"""Mean and worst ROC AUC per method over `karma anomaly --json` outputs (the anomaly experiment scripts' last lines).
usage: docs/experiments/auc-means.py RUN.json [RUN.json ...]"""
import json, statistics, sys
runs = [json.load(open(f)) for f in sys.argv[1:]]
for k in runs[0]:
    v = [r[k]['auc'] for r in runs]
    print('%-20s mean %.4f  min %.4f  (%d runs)' % (k, statistics.mean(v), min(v), len(v)))
