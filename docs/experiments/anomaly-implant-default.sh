#!/usr/bin/env bash
# The shipped default model, with no training, on the implanted scenes anomaly-implant.sh wrote (README, "Anomaly
# detection"): the band tables the default model needs come from the files (AVIRIS 224, Berlin) or from --sensor
# (Salinas-A, Samson, Pavia, whose files store none). One line per scene and seed, then the mean per score.
# usage: docs/experiments/anomaly-implant-default.sh IMPLANT_DIR [SEEDS]
set -euo pipefail
dir=${1:?usage: anomaly-implant-default.sh IMPLANT_DIR [SEEDS]}; seeds=${2:-"0 1"}
here=$(cd "$(dirname "$0")/../.." && pwd)
karma=${KARMA:-"dotnet run -c Release --project $here/src/Karma.Cli --"}
runs=()
for seed in $seeds; do
  for h in salinas-a aviris-224 samson berlin pavia; do
    n=$h-$seed
    case $h in
      salinas-a) sensor=(--sensor "aviris-classic[1-107,113-153,168-223]");;
      samson) sensor=(--sensor samson);;
      pavia) sensor=(--sensor rosis-03);;
      *) sensor=();;
    esac
    $karma anomaly --data "$dir/$n.hdr" "${sensor[@]}" --truth "$dir/$n-truth.tif" --method all --out "$dir/default-$n" --json > "$dir/default-$n.json"
    python3 -c "import json; d=json.load(open('$dir/default-$n.json')); print('$n', ' '.join('%s=%.4f' % (k, v['auc']) for k, v in d.items()))"
    runs+=("$dir/default-$n.json")
  done
done
python3 "$here/docs/experiments/auc-means.py" "${runs[@]}"
