#!/usr/bin/env bash
# Downstream classification with the default model (README, "Downstream"): for Salinas-A, Berlin and the 16 Potsdam
# tiles, random (5% of each class) and spatial (top half trains, 20 per class) splits, seeds SEEDS:
# raw-spectra probe, the default model's probe (encoder ⊕ spectrum ⊕ abundances, chosen by cross-validation), the
# encoder alone, fine-tuning and the same fine-tuning from random weights.
# usage: docs/experiments/downstream.sh OUT_DIR [SEEDS] [CHECKPOINT]
set -euo pipefail
out=${1:?usage: downstream.sh OUT_DIR [SEEDS] [CHECKPOINT]}; seeds=${2:-"0 1 2"}; checkpoint=${3:-}
here=$(cd "$(dirname "$0")/../.." && pwd)
karma=${KARMA:-"dotnet run -c Release --project $here/src/Karma.Cli --"}
D=${SHARED:-$here/../shared}/data
S=$D/salinas_a; B=$D/enmap_berlin_urban_gradient; P=$D/enmap_potsdam
mkdir -p "$out"
ck=(); [[ -n $checkpoint ]] && ck=(--checkpoint "$checkpoint")
run() {  # name split seed args...
  local name=$1 split=$2 seed=$3; shift 3
  local extra=(--train-fraction 0.05); [[ $split == spatial ]] && extra=(--per-class 20)
  $karma probe "${ck[@]}" "$@" --split $split "${extra[@]}" --seed $seed --json > "$out/$name-$split-$seed.json" 2> "$out/$name-$split-$seed.log"
  python3 -c "import json,sys; d=json.load(open('$out/$name-$split-$seed.json')); print('$name $split $seed', ' '.join('%s=%.4f' % (k, v['oa']) for k, v in d.items()))"
}
for seed in $seeds; do
  for split in random spatial; do
    run salinas $split $seed --data $S/SalinasA_corrected.mat@aviris-classic --labels $S/SalinasA_gt.mat:salinasA_gt
    run berlin $split $seed --data $B/EnMAP_BerlinUrbanGradient.hdr --labels $B/landcover_level2_60x80.tif
    run potsdam $split $seed --data $P/images/*.tif --labels $P/labels/*.tif
  done
done
