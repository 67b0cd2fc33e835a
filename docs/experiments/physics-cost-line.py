#!/usr/bin/env python3
"""One line of physics-cost.sh: the run's masked PSNR / SAM (metrics.json) and its unmixing scores (unmix.json)."""
import json
import sys

share, every, seed, scene, seconds, run, unmix = sys.argv[1:8]
m = json.load(open(f"{run}/metrics.json"))["metrics"]
u = json.load(open(f"{unmix}/unmix.json"))
t = u.get("truth") or {}
sad = t.get("meanSadDegrees")
rmse = t.get("meanAbundanceRmse")
dominant = t.get("meanDominantAgreement")
print(f"share={share} every={every} seed={seed} scene={scene} train_s={seconds} psnr={m['psnr']:.2f} sam={m['samDegrees']:.2f} "
      f"psnr_phys={m['psnrPhys']:.2f} sad={'-' if sad is None else f'{sad:.2f}'} "
      f"abundance_rmse={'-' if rmse is None else f'{rmse:.4f}'} dominant={'-' if dominant is None else f'{dominant:.3f}'} "
      f"recon_rmse={u['meanErrorRmse']:.4f}", flush=True)
