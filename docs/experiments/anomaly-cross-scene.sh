#!/usr/bin/env bash
# Anomaly detection without training on the scored scene (README, "Anomaly detection"): each ABU scene is scored by a
# tiny model pretrained on the other ABU scenes of its band count, never on itself, so the model cannot learn that
# scene's anomalies. The files store no wavelengths, so only scenes with the same bands can share a model:
#   205 bands: airport-1, airport-2, airport-3, urban-4, urban-5 (each scored by a model of the other four);
#   191 bands: airport-4, urban-3 (each scored by a model of the other).
# urban-1 (204 bands) and urban-2 (207) have no partner and are left out. One line per scene, as anomaly.sh prints.
# usage: docs/experiments/anomaly-cross-scene.sh OUT_DIR [STEPS] [SEED]   (PRETRAIN_ARGS adds pretraining options, e.g. "--physics-every 1")
set -euo pipefail
out=${1:?usage: anomaly-cross-scene.sh OUT_DIR [STEPS] [SEED]}; steps=${2:-400}; seed=${3:-0}
here=$(cd "$(dirname "$0")/../.." && pwd)
karma=${KARMA:-"dotnet run -c Release --project $here/src/Karma.Cli --"}
A=${SHARED:-$here/../shared}/data/aviris_abu
mkdir -p "$out"
for group in "airport-1 airport-2 airport-3 urban-4 urban-5" "airport-4 urban-3"; do
  for s in $group; do
    others=(); for o in $group; do [ "$o" != "$s" ] && others+=("$A/abu-$o.mat"); done
    start=$(date +%s)
    # Validation reads a training scene (as anomaly.sh does): nothing about the scored scene reaches training.
    $karma pretrain --data "${others[@]}" --holdout "${others[0]}" --steps $steps --seed $seed ${PRETRAIN_ARGS:-} --out "$out/m-$s" --overwrite > "$out/m-$s.log" 2>&1
    mid=$(date +%s)
    $karma anomaly --data $A/abu-$s.mat --truth $A/abu-$s.mat:map --checkpoint "$out/m-$s" --method all --out "$out/$s" --json > "$out/$s.json"
    end=$(date +%s)
    python3 -c "import json; d=json.load(open('$out/$s.json')); print('$s', 'train $((mid - start))s detect $((end - mid))s', ' '.join('%s=%.4f' % (k, v['auc']) for k, v in d.items()))"
  done
done
