#!/usr/bin/env bash
# Anomaly detection on the nine AVIRIS ABU scenes (README, "Anomaly detection"): for each scene a tiny model is
# pretrained on the scene itself (the whole scene, no labels: detection is transductive), then every method is scored
# against the scene's anomaly map. One line per scene: seconds to train and to detect, ROC AUC per method.
# usage: docs/experiments/anomaly.sh OUT_DIR [STEPS] [SEED]   (PRETRAIN_ARGS adds pretraining options, e.g. "--physics-every 1")
set -euo pipefail
out=${1:?usage: anomaly.sh OUT_DIR [STEPS] [SEED]}; steps=${2:-400}; seed=${3:-0}
here=$(cd "$(dirname "$0")/../.." && pwd)
karma=${KARMA:-"dotnet run -c Release --project $here/src/Karma.Cli --"}
A=${SHARED:-$here/../shared}/data/aviris_abu
mkdir -p "$out"
for s in airport-1 airport-2 airport-3 airport-4 urban-1 urban-2 urban-3 urban-4 urban-5; do
  start=$(date +%s)
  $karma pretrain --data $A/abu-$s.mat --holdout $A/abu-$s.mat --steps $steps --seed $seed ${PRETRAIN_ARGS:-} --out "$out/m-$s" --overwrite > "$out/m-$s.log" 2>&1
  mid=$(date +%s)
  $karma anomaly --data $A/abu-$s.mat --truth $A/abu-$s.mat:map --checkpoint "$out/m-$s" --method all --out "$out/$s" --json > "$out/$s.json"
  end=$(date +%s)
  python3 -c "import json; d=json.load(open('$out/$s.json')); print('$s', 'train $((mid - start))s detect $((end - mid))s', ' '.join('%s=%.4f' % (k, v['auc']) for k, v in d.items()))"
done
