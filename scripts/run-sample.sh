#!/usr/bin/env bash
# The main job on the embedded sample data: installs what is missing, builds, runs
# `ecostat run` and writes results.json and CSV tables into ${OUT_DIR:-out}.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
out=${OUT_DIR:-out}
mkdir -p "$out"
"${BUILD_DIR:-build}/cli/ecostat" run --json "$out/results.json" --csv "$out/csv"
echo "wrote $out/results.json and $out/csv/"
