#!/usr/bin/env bash
# Copies the header-only build dependencies (Catch2 v2, nlohmann_json, CLI11) with their CMake
# package files into .deps/, keeping /usr's layout, so that a GPU machine without apt can
# configure the project with -DCMAKE_PREFIX_PATH=$PWD/.deps (scripts/gpu-check.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .deps && mkdir -p .deps/include .deps/lib/cmake .deps/share/cmake
cp -r /usr/include/catch2 /usr/include/nlohmann /usr/include/CLI .deps/include/
cp -r /usr/lib/cmake/Catch2 .deps/lib/cmake/
cp /usr/lib/*/libCatch2WithMain.a /usr/lib/libCatch2WithMain.a .deps/lib/ 2>/dev/null || true
cp -r /usr/share/cmake/nlohmann_json /usr/share/cmake/CLI11 .deps/share/cmake/
du -sh .deps
