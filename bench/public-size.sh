#!/usr/bin/env bash
# The public-size experiments of docs/results.md ("At the public zoos' size"), one part at a time:
#
#   bash bench/public-size.sh DIR PART
#
# PART is mnist-inr, fmnist-inr (70,000 INRs each in the DWSNets recipe, their grid, and the
# DWSNets export/import round trip), cnn (10,000 Fashion-MNIST Small CNNs and their grid) or park
# (a 2,000-network Fashion-MNIST Wild Park and its grid). Everything goes under DIR: zoos/, runs/,
# and DIR/progress.log. Rerun the same command after an interruption: a zoo build keeps its
# finished shards (and takes over a dead process's lock), an experiment keeps its finished runs
# and resumes a stopped one from its last checkpoint, and finished steps are skipped. Each
# build's and grid part's `/usr/bin/time -v` report (peak memory) is kept beside its output.
# Runs the grid as PARTS parts side by side (default 2: a two-core machine), one kernel thread
# each. A part takes every PARTS-th run in the order K, method, seed, so PARTS=3 gives each
# part of the park's grid one of its three long ProbeGen runs, where two parts give one part two.
# COUNT=N overrides the part's network count (a smoke test of the script: COUNT=300).
set -euo pipefail
dir=${1:?usage: bash bench/public-size.sh DIR mnist-inr|fmnist-inr|cnn|park}
part=${2:?usage: bash bench/public-size.sh DIR mnist-inr|fmnist-inr|cnn|park}
[[ ${PARTS:-2} =~ ^[1-9][0-9]*$ ]] || { echo "PARTS must be a positive whole number, not '${PARTS}'" >&2; exit 2; }
here=$(cd "$(dirname "$0")/.." && pwd)
probegen() { node "$here/dist/src/cli/main.js" "$@"; }
timed() { local err=$1; shift; /usr/bin/time -v node "$here/dist/src/cli/main.js" "$@" 2>> "$err"; }
mkdir -p "$dir/zoos" "$dir/runs"
log() { echo "$(date -u +%FT%TZ) $part: $*" | tee -a "$dir/progress.log"; }

# build ZOO ARGS...: builds zoos/ZOO once (its --json report in ZOO.json, time -v in ZOO.err).
build() {
  local name=$1; shift
  local z="$dir/zoos/$name"
  if [ -f "$z.json" ]; then log "$name: built already"; return; fi
  log "$name: building"
  timed "$z.err" "$@" --out "$z" --json > "$z.part.json"
  mv "$z.part.json" "$z.json"
  log "$name: built"
}

# grid ZOO RUNS ARGS...: the experiment's PARTS parts side by side, then compare's table.
grid() {
  local zoo=$1 runs=$2; shift 2
  local parts=${PARTS:-2}
  log "$runs: grid ($parts parts)"
  local pids=()
  for ((i = 0; i < parts; i++)); do
    timed "$dir/runs/$runs-part$i.err" experiment --zoo "$dir/zoos/$zoo" --out "$dir/runs/$runs" "$@" --threads 1 --shard "$i/$parts" --json \
      > "$dir/runs/$runs-part$i.json" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  probegen compare "$dir/runs/$runs" --markdown > "$dir/runs/$runs.md"
  log "$runs: grid done"
  cat "$dir/runs/$runs.md"
}

# roundtrip ZOO RUNS: export to the DWSNets layout, import it back, train the grid's first
# ProbeGen run on the import and check that its result is the original's.
roundtrip() {
  local zoo=$1 runs=$2
  local exp="$dir/zoos/$zoo-dwsnets" imp="$dir/zoos/$zoo-reimport"
  [ -f "$exp/probegen-export.json" ] || timed "$exp.err" zoo export "$dir/zoos/$zoo" --format dwsnets --out "$exp" --json > "$exp.json"
  local splits
  splits=$(ls "$exp"/*_splits.json)
  [ -f "$imp.json" ] || { timed "$imp.err" zoo import dwsnets "$splits" --out "$imp" --workers 2 --json > "$imp.part.json"; mv "$imp.part.json" "$imp.json"; }
  probegen experiment --zoo "$imp" --out "$dir/runs/$runs-reimport" --methods probegen --probes 64 --seeds 1 --json > /dev/null
  node -e '
    const fs = require("node:fs");
    const read = (f) => { const r = JSON.parse(fs.readFileSync(f, "utf8")); return JSON.stringify({ best: r.best, last: r.last }); };
    const [a, b] = process.argv.slice(1).map(read);
    if (a !== b) { console.error(`round trip: the reimport scored ${b}, the original ${a}`); process.exit(1); }
    console.log(`round trip: the same scores, ${a}`);
  ' "$dir/runs/$runs/probegen-k64-seed0/result.json" "$dir/runs/$runs-reimport/probegen-k64-seed0/result.json" | tee -a "$dir/progress.log"
}

case $part in
  mnist-inr|fmnist-inr)
    ds=${part%-inr}
    build "$ds-inr-70k" zoo build inr --dataset "$ds" --count "${COUNT:-70000}" --init dwsnets --workers 2
    grid "$ds-inr-70k" "$ds-inr-70k" --methods probegen,vanilla,uniform,statnn,probegen-hidden --probes 64,128 --seeds 3
    roundtrip "$ds-inr-70k" "$ds-inr-70k"
    ;;
  cnn)
    build fmnist-cnn-10k zoo build cnn --dataset fmnist --count "${COUNT:-10000}" --workers 2
    grid fmnist-cnn-10k fmnist-cnn-10k --methods data-labelled,probegen,data,data-hidden,statnn --probes 64 --seeds 3 --epochs 150 --eval-every 1250
    ;;
  park)
    build fmnist-park-2000 zoo build wild-park --dataset fmnist --count "${COUNT:-2000}" --workers 2
    grid fmnist-park-2000 fmnist-park-2000 --methods data-labelled,probegen,data,statnn --probes 64 --seeds 3 --epochs 30 --eval-every 250
    ;;
  *) echo "unknown part: $part (mnist-inr, fmnist-inr, cnn or park)" >&2; exit 2 ;;
esac
