#!/usr/bin/env bash
# Choosing the karma anomaly score on scenes that are not the benchmark (README, "Anomaly detection"): synthetic
# targets are implanted (`karma implant`, seeds 0 and 1) into five scenes with no anomaly ground truth of their own
# (Salinas-A, the AVIRIS 224-band scene, Samson, the Berlin EnMAP-like scene, the ROSIS Pavia crop); a tiny model is
# pretrained on each implanted scene (transductive, as on ABU) and every score is measured against the implant map.
# One line per scene and seed, then the mean ROC AUC of each score over all of them; anomaly-candidates.py OUT_DIR
# scores the sums of scores that were candidates for the karma score. IMPLANT_ARGS passes options to `karma implant`:
#   docs/experiments/anomaly-implant.sh implant-sparse                                                # round 1
#   IMPLANT_ARGS="--count 30 --max-size 6 --spacing 2" docs/experiments/anomaly-implant.sh implant-crowded   # round 2
# usage: docs/experiments/anomaly-implant.sh OUT_DIR [STEPS] [SEEDS]   (PRETRAIN_ARGS adds pretraining options, e.g. "--physics-every 1")
set -euo pipefail
out=${1:?usage: anomaly-implant.sh OUT_DIR [STEPS] [SEEDS]}; steps=${2:-400}; seeds=${3:-"0 1"}
here=$(cd "$(dirname "$0")/../.." && pwd)
karma=${KARMA:-"dotnet run -c Release --project $here/src/Karma.Cli --"}
D=${SHARED:-$here/../shared}/data
declare -A hosts=(
  [salinas-a]=$D/salinas_a/SalinasA_corrected.mat
  [aviris-224]=$D/aviris_misc/aviris_224_with_wavelengths.mat
  [samson]=$D/samson/Samson.mat:SamSon
  [berlin]=$D/enmap_berlin_urban_gradient/EnMAP_BerlinUrbanGradient.hdr
  [pavia]=$D/aviris_misc/rosis_pavia_u_crop.mat
)
mkdir -p "$out"
runs=()
for seed in $seeds; do
  for h in salinas-a aviris-224 samson berlin pavia; do
    n=$h-$seed
    $karma implant "${hosts[$h]}" "$out/$n.hdr" --seed $seed ${IMPLANT_ARGS:-} > "$out/$n.implant.log"
    start=$(date +%s)
    $karma pretrain --data "$out/$n.hdr" --holdout "$out/$n.hdr" --steps $steps --seed $seed ${PRETRAIN_ARGS:-} --out "$out/m-$n" --overwrite > "$out/m-$n.log" 2>&1
    mid=$(date +%s)
    $karma anomaly --data "$out/$n.hdr" --truth "$out/$n-truth.tif" --checkpoint "$out/m-$n" --method all --out "$out/$n-maps" --json > "$out/$n.json"
    end=$(date +%s)
    python3 -c "import json; d=json.load(open('$out/$n.json')); print('$n', 'train $((mid - start))s detect $((end - mid))s', ' '.join('%s=%.4f' % (k, v['auc']) for k, v in d.items()))"
    runs+=("$out/$n.json")
  done
done
python3 "$here/docs/experiments/auc-means.py" "${runs[@]}"
