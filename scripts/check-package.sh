#!/usr/bin/env bash
# The library as a user gets it (docs/library.md). Installs the built tree ${BUILD_DIR:-build}
# into a temporary prefix, then checks (after checking that docs/library.md shows examples/cpp
# exactly as it is):
#   1. examples/cpp, built with find_package(ecostat) against that prefix, once with the shared
#      library and once with the static one: its figures equal `ecostat run --json -` on the
#      same embedded sample; examples/cpp/session.cpp (a Session fed by hand, two partials
#      merged) prints the sums worked out by hand;
#   2. pkg-config --cflags --libs ecostat, and a program that includes every installed header,
#      compiled and linked with only those flags, runs (header and library versions agree);
#   3. the installed bin/ecostat --version runs from the prefix;
#   4. examples/subproject configures: ecostat under add_subdirectory, without the CLI, leaves
#      the parent's CMAKE_BUILD_TYPE alone.
# scripts/test.sh runs it after ctest. Takes seconds (no ecostat source is recompiled).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=$(cd "${BUILD_DIR:-build}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ecostat-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
fail() { echo "check-package: FAIL: $*" >&2; exit 1; }
quiet() {  # runs a command, showing its output only when it fails
  local log=$work/step.log
  "$@" >"$log" 2>&1 || { cat "$log" >&2; fail "$*"; }
}

# docs/library.md shows examples/cpp verbatim: the quick start is what this script builds.
for f in examples/cpp/main.cpp examples/cpp/session.cpp examples/cpp/CMakeLists.txt; do
  awk -v f="$f" '$0 == "<!-- begin " f " -->" {on = 1; next} on && /^<!-- end -->/ {on = 0}
                 on && !/^```/' docs/library.md >"$work/doc_copy"
  cmp -s "$work/doc_copy" "$f" || fail "docs/library.md's copy of $f differs from the file"
done

quiet cmake --install "$build" --prefix "$prefix"
pc=$(find "$prefix" -name ecostat.pc -path '*/pkgconfig/*')
[ -n "$pc" ] || fail "no ecostat.pc installed"
libdir=$(dirname "$(dirname "$pc")")
for f in "$libdir/libecostat.a" "$libdir/libecostat.so" "$libdir/cmake/ecostat/ecostatConfig.cmake" \
         "$libdir/cmake/ecostat/ecostatConfigVersion.cmake" "$prefix/include/ecostat/version_number.hpp" \
         "$prefix/include/ecostat/engine.hpp" "$prefix/include/ecostat/host/readers.hpp"; do
  [ -e "$f" ] || fail "not installed: ${f#"$prefix"/}"
done
soname=$(objdump -p "$libdir/libecostat.so" | awk '$1 == "SONAME" {print $2}')
case "$soname" in libecostat.so.[0-9]*) ;; *) fail "libecostat.so has no versioned SONAME ('$soname')" ;; esac
[ -e "$libdir/$soname" ] || fail "$soname (the SONAME) is not installed"

# 3. The installed command, with nothing but the prefix.
version_out=$(env -u LD_LIBRARY_PATH "$prefix/bin/ecostat" --version) || fail "installed bin/ecostat --version"
version=$(grep -o 'ecostat [0-9][0-9.]*' <<<"$version_out" | head -1 | cut -d' ' -f2)
[ -n "$version" ] || fail "bin/ecostat --version printed no version: $version_out"

# 1. The example, against the installed package. Expected figures: the installed command's.
expected=$(env -u LD_LIBRARY_PATH "$prefix/bin/ecostat" run --json - -q | python3 -c '
import json, sys
d = json.load(sys.stdin)
top = d["share"]["model"][0]
print("units %d" % d["input"]["units"])
print("downloads %d" % d["share_info"]["model"]["total"])
print("top %s %.4f" % (top["key"], top["share"]))')
for flavour in shared static; do
  static=OFF; [ "$flavour" = static ] && static=ON
  quiet cmake -S examples/cpp -B "$work/example-$flavour" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_BUILD_TYPE=Release -DECOSTAT_EXAMPLE_STATIC=$static
  quiet cmake --build "$work/example-$flavour"
  exe=$work/example-$flavour/ecostat_example
  needs_so=no; objdump -p "$exe" | grep -q "NEEDED *libecostat\.so" && needs_so=yes
  [ "$flavour/$needs_so" = shared/yes ] || [ "$flavour/$needs_so" = static/no ] ||
    fail "the $flavour example links libecostat.so: $needs_so"
  out=$(env -u LD_LIBRARY_PATH "$exe") || fail "the $flavour example exited with $?"
  head -1 <<<"$out" | grep -q "^ecostat $version, backend " || fail "the $flavour example's first line: $(head -1 <<<"$out")"
  [ "$(tail -n +2 <<<"$out")" = "$expected" ] ||
    fail "the $flavour example printed"$'\n'"$out"$'\n'"expected (ecostat run --json -)"$'\n'"$expected"
  echo "check-package: examples/cpp ($flavour library) matches ecostat run: $(tr '\n' ' ' <<<"$expected")"
  # The session example: two partials merged; the sums worked by hand (sum over March of 10+d
  # and 20+d: 806 and 1116 of 1922).
  out=$(env -u LD_LIBRARY_PATH "$work/example-$flavour/ecostat_session_example") || fail "the $flavour session example"
  [ "$out" = $'org/base-ft 1116 0.5806\norg/base 806 0.4194' ] || fail "the $flavour session example printed: $out"
done

# 2. pkg-config: one program including every installed header, built with its flags only.
export PKG_CONFIG_PATH=$libdir/pkgconfig
[ "$(pkg-config --modversion ecostat)" = "$version" ] || fail "pkg-config --modversion ecostat"
flags=$(pkg-config --cflags --libs ecostat) || fail "pkg-config --cflags --libs ecostat"
{
  (cd "$prefix/include" && find ecostat -name '*.hpp' | sort | sed 's/.*/#include "&"/')
  cat <<'CPP'
#include <cstdio>
#include <cstring>
int main() {
  std::printf("%s\n", ecostat::version());
  return std::strcmp(ecostat::version(), ECOSTAT_VERSION_STRING) == 0 ? 0 : 1;
}
CPP
} >"$work/pkgconfig_check.cpp"
read -r -a flag_array <<<"$flags"
quiet c++ -std=c++17 "$work/pkgconfig_check.cpp" -o "$work/pkgconfig_check" "${flag_array[@]}" -Wl,-rpath,"$libdir"
[ "$(env -u LD_LIBRARY_PATH "$work/pkgconfig_check")" = "$version" ] || fail "the pkg-config program"
echo "check-package: pkg-config ecostat: $flags"

# 4. add_subdirectory: configure only (the library is built by the steps above).
quiet cmake -S examples/subproject -B "$work/subproject" -DECOSTAT_SOURCE_DIR="$root" \
  -DECOSTAT_CUDA=OFF -DECOSTAT_HIP=OFF
grep -q '^CMAKE_BUILD_TYPE:STRING=$' "$work/subproject/CMakeCache.txt" ||
  fail "the subproject's CMAKE_BUILD_TYPE cache entry changed: $(grep '^CMAKE_BUILD_TYPE' "$work/subproject/CMakeCache.txt")"
echo "check-package: ok (installed package $version: CMake shared+static, pkg-config, bin/ecostat, add_subdirectory)"
