#!/usr/bin/env bash
# Leave-one-sensor-out reconstruction (README, "One model for any sensor").
# For each sensor in ../shared/data, a wavelength-aware model is pretrained on the other sensors' scenes and tested on
# the held-out sensor's scenes; beside it, a fixed-band model pretrained on EnMAP bands (12 Potsdam tiles) is applied to
# the same scenes through resampling. Masked-patch PSNR/SAM on non-overlapping tiles, mask seed 0, tiny preset,
# STEPS steps of batch 8, seeds SEEDS.
# usage: docs/experiments/leave-one-sensor-out.sh OUT_DIR [STEPS] [SEEDS]   (PRETRAIN_ARGS adds pretraining options, e.g. "--physics-every 1")
set -euo pipefail
out=${1:?usage: leave-one-sensor-out.sh OUT_DIR [STEPS] [SEEDS]}; steps=${2:-2000}; seeds=${3:-"0 1"}
here=$(cd "$(dirname "$0")/../.." && pwd)
karma=${KARMA:-"dotnet run -c Release --project $here/src/Karma.Cli --"}
D=${SHARED:-$here/../shared}/data
P=$D/enmap_potsdam/images
declare -A scenes
scenes[enmap]="$(ls $P/*.tif | tr '\n' ' ') $D/enmap_berlin_urban_gradient/EnMAP_BerlinUrbanGradient.hdr"
scenes[aviris]="$D/salinas_a/SalinasA_corrected.mat@aviris-classic $D/aviris_misc/aviris_224_with_wavelengths.mat:hsi_img"
scenes[rosis]="$D/aviris_misc/rosis_pavia_u_crop.mat@rosis-03"
scenes[samson]="$D/samson/Samson.mat:SamSon@samson"
mkdir -p "$out"
common="--preset tiny --stride 8 --steps $steps --checkpoint-every 0 --overwrite"
echo "| held-out sensor | test scenes | seed | wavelength model PSNR (dB) | SAM (°) | fixed EnMAP model PSNR (dB) | SAM (°) |" > "$out/table.md"
echo "|---|---|---|---|---|---|---|" >> "$out/table.md"
for seed in $seeds; do
  # today's model: fixed EnMAP bands, trained on the 12 Potsdam tiles outside row 192
  $karma pretrain --data $(ls $P/*.tif | grep -v _192_) --holdout $P/*_192_*.tif $common --seed $seed ${PRETRAIN_ARGS:-} --out "$out/fixed-enmap-s$seed" > "$out/fixed-enmap-s$seed.log" 2>&1
  for held in enmap aviris rosis samson; do
    train=""
    for other in enmap aviris rosis samson; do [[ $other == "$held" ]] || train="$train ${scenes[$other]}"; done
    run="$out/wavelength-without-$held-s$seed"
    $karma pretrain --spectral-embedding wavelength --data $train $common --seed $seed ${PRETRAIN_ARGS:-} --out "$run" > "$run.log" 2>&1
    test=${scenes[$held]}
    [[ $held == enmap ]] && test="$(ls $P/*_192_*.tif | tr '\n' ' ') $D/enmap_berlin_urban_gradient/EnMAP_BerlinUrbanGradient.hdr"
    w=$($karma evaluate --checkpoint "$run" --data $test --json 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.2f | %.2f" % (d["psnr"], d["samDegrees"]))')
    # The fixed model reads a scene only through resampling onto its EnMAP bands: keep the scenes whose range covers them.
    readable=""
    for scene in $test; do
      $karma evaluate --checkpoint "$out/fixed-enmap-s$seed" --data "$scene" --json > /dev/null 2>&1 && readable="$readable $scene"
    done
    if [[ -n $readable ]]; then
      f=$($karma evaluate --checkpoint "$out/fixed-enmap-s$seed" --data $readable --json 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.2f | %.2f" % (d["psnr"], d["samDegrees"]))')
      f="$f ($(echo $readable | wc -w) of $(echo $test | wc -w) scenes)"
    else
      f="cannot: no scene covers the model's 418–2445 nm | –"
    fi
    echo "| $held | $(echo $test | wc -w) | $seed | $w | $f |" >> "$out/table.md"
    cat "$out/table.md" | tail -1
  done
done
