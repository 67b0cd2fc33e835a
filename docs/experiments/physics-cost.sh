#!/usr/bin/env bash
# What the physics branch's cheaper settings cost in quality (docs/performance.md, KARMA's overhead): a share of each
# tile's patches per training step (--physics-share S) and the branch in one step of every K (--physics-every K). The
# README's three unmixing scenes with truth, trained with each setting S:K, two seeds each.
# One line per run: share, every, seed, scene, training seconds, the pixel head's masked PSNR and SAM on the held-out tiles
# (the scene itself here: unmixing is transductive), and the unmixing scores of the learned endmembers (SAD, abundance RMSE).
# usage: docs/experiments/physics-cost.sh OUT_DIR ["S:K ..."] ["SEEDS"]     e.g. "1:1 0.25:1 1:4"; SCENES="samson" for one scene
set -euo pipefail
out=${1:?usage: physics-cost.sh OUT_DIR [S:K ...] [SEEDS]}; settings=${2:-"1:1 0.25:1 1:4"}; seeds=${3:-"0 1"}
here=$(cd "$(dirname "$0")/../.." && pwd)
karma=${KARMA:-"dotnet run -c Release --project $here/src/Karma.Cli --"}
D=${SHARED:-$here/../shared}/data
B=$D/enmap_berlin_urban_gradient
mkdir -p "$out"
[ -f "$out/sim/scene.hdr" ] || $karma simulate --out "$out/sim" > /dev/null
for seed in $seeds; do for setting in $settings; do
  share=${setting%%:*}; every=${setting##*:}
  for scene in ${SCENES:-sim samson berlin}; do
    case $scene in
      sim)    data=$out/sim/scene.hdr; truth="$out/sim/endmembers.csv $out/sim/abundances.hdr"; args="--steps 400" ;;
      samson) data=$D/samson/Samson.mat:SamSon; truth=$D/samson/Samson.mat; args="--endmembers 3 --steps 600" ;;
      berlin) data=$B/EnMAP02_Berlin_Urban_Gradient_2009.hdr; truth=$B/LandCov_Layer_Level2_Berlin_Urban_Gradient_2009.hdr; args="--tile-size 16 --patch-size 4 --stride 4 --endmembers 6 --steps 600" ;;
    esac
    run=$out/$scene-share$share-every$every-seed$seed
    start=$(date +%s)
    $karma pretrain --data $data --preset tiny $args --seed $seed --physics-share $share --physics-every $every --out "$run" --overwrite > "$run.log" 2>&1
    mid=$(date +%s)
    $karma unmix --checkpoint "$run" --data $data --truth $truth --out "$run-unmix" > "$run-unmix.log" 2>&1
    python3 "$here/docs/experiments/physics-cost-line.py" "$share" "$every" "$seed" "$scene" $((mid - start)) "$run" "$run-unmix"
  done
done; done
