#!/usr/bin/env bash
# The physics branch on a share of each tile's patches per training step (--physics-share; docs/performance.md, KARMA's
# overhead): the README's three unmixing scenes with truth, trained with every patch and with a share, two seeds each.
# One line per run: share, seed, scene, training seconds, the pixel head's masked PSNR and SAM on the held-out tiles (the
# scene itself here: unmixing is transductive), and the unmixing scores of the learned endmembers (SAD, abundance RMSE).
# usage: docs/experiments/physics-share.sh OUT_DIR ["SHARES"] ["SEEDS"]
set -euo pipefail
out=${1:?usage: physics-share.sh OUT_DIR [SHARES] [SEEDS]}; shares=${2:-"1 0.25"}; seeds=${3:-"0 1"}
here=$(cd "$(dirname "$0")/../.." && pwd)
karma=${KARMA:-"dotnet run -c Release --project $here/src/Karma.Cli --"}
D=${SHARED:-$here/../shared}/data
B=$D/enmap_berlin_urban_gradient
mkdir -p "$out"
[ -f "$out/sim/scene.hdr" ] || $karma simulate --out "$out/sim" > /dev/null
for seed in $seeds; do for share in $shares; do
  for scene in sim samson berlin; do
    case $scene in
      sim)    data=$out/sim/scene.hdr; truth="$out/sim/endmembers.csv $out/sim/abundances.hdr"; args="--steps 400" ;;
      samson) data=$D/samson/Samson.mat:SamSon; truth=$D/samson/Samson.mat; args="--endmembers 3 --steps 600" ;;
      berlin) data=$B/EnMAP02_Berlin_Urban_Gradient_2009.hdr; truth=$B/LandCov_Layer_Level2_Berlin_Urban_Gradient_2009.hdr; args="--tile-size 16 --patch-size 4 --stride 4 --endmembers 6 --steps 600" ;;
    esac
    run=$out/$scene-share$share-seed$seed
    start=$(date +%s)
    $karma pretrain --data $data --preset tiny $args --seed $seed --physics-share $share --out "$run" --overwrite > "$run.log" 2>&1
    mid=$(date +%s)
    $karma unmix --checkpoint "$run" --data $data --truth $truth --out "$run-unmix" > "$run-unmix.log" 2>&1
    python3 "$here/docs/experiments/physics-share-line.py" "$share" "$seed" "$scene" $((mid - start)) "$run" "$run-unmix"
  done
done; done
