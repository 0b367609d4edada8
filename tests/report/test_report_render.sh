#!/usr/bin/env bash
# Renders `ecostat report` output in headless chromium and checks the screenshot is a real page.
#   test_report_render.sh ECOSTAT OUTDIR
# Exit 0: rendered and checked; 1: a failure; 77: skipped (no chromium or no python3), with why.
set -u
ecostat=$1 out=$2
browser=""
for b in chromium chromium-browser google-chrome google-chrome-stable; do
  if command -v "$b" >/dev/null 2>&1; then browser=$(command -v "$b"); break; fi
done
if [ -z "$browser" ]; then
  echo "SKIPPED: no chromium found (Debian: apt-get install chromium); the HTML report was not rendered"
  exit 77
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "SKIPPED: python3 not found (needed to read the screenshot)"
  exit 77
fi
rm -rf "$out" && mkdir -p "$out" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

# 1. The results document, then the report from it (the path a user takes), and from inputs.
"$ecostat" run --backend cpu -q --units model,author,family --json "$out/results.json" || fail "ecostat run"
"$ecostat" report --results "$out/results.json" --out "$out/report.html" --title "ecostat report test" || fail "ecostat report --results"
"$ecostat" report --backend cpu --out "$out/report_from_inputs.html" || fail "ecostat report from inputs"
[ -s "$out/report_from_inputs.html" ] || fail "empty report from inputs"
"$ecostat" report --results "$out/results.json" --repos x.jsonl --out "$out/x.html" >/dev/null 2>&1
[ $? -eq 2 ] || fail "--results with input options must be a usage error (exit 2)"

# 2. Self-contained: nothing to fetch (the SVG namespace URI is a name, not a request).
grep -Eq '<script|src="https?:|href="https?:|@import|url\(' "$out/report.html" && fail "the report references something outside itself"
for s in "Lorenz curves" "Share over time by country" "Share over time by organisation type" \
         "Top families and their derivatives" "Model size over time" "Growth" "Relative adoption" "Engagement lifetime"; do
  grep -q "$s" "$out/report.html" || fail "the report lacks the section '$s'"
done

# 3. Every chart has both axis titles, and the labels follow the measure of the run that made
#    the results (docs/study-report.md).
charts=$(grep -o '<svg' "$out/report.html" | wc -l)
[ "$charts" -ge 10 ] || fail "only $charts charts in the report"
for xy in x y; do
  n=$(grep -o "class=\"axis-title $xy\"" "$out/report.html" | wc -l)
  [ "$n" -eq "$charts" ] || fail "$n of $charts charts have a $xy axis title"
done
grep -q 'cumulative share of downloads' "$out/report.html" || fail "the Lorenz y axis does not say downloads (measure records)"
"$ecostat" run --backend cpu -q --measure all_time --json "$out/results_all_time.json" || fail "ecostat run --measure all_time"
"$ecostat" report --results "$out/results_all_time.json" --out "$out/report_all_time.html" 2>/dev/null || fail "report of all_time results"
grep -q 'cumulative share of all-time downloads' "$out/report_all_time.html" || fail "the all_time report's Lorenz axis does not say all-time downloads"
grep -q 'summed from the download records' "$out/report_all_time.html" && fail "the all_time report speaks of the download records' sum"

# 4. Render it. A fresh profile, no network needed.
timeout 180 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
  --user-data-dir="$out/profile" --window-size=1200,3000 --screenshot="$out/report.png" \
  "file://$out/report.html" >"$out/chromium.log" 2>&1
rc=$?
[ -s "$out/report.png" ] || { sed 's/^/  | /' "$out/chromium.log" | tail -20; fail "chromium wrote no screenshot (exit $rc)"; }

# 5. Decode the PNG (zlib, the five filters) and check it is a page, not a blank or an error.
python3 - "$out/report.png" <<'PY' || exit 1
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, w = 8, b"", 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        assert depth == 8 and ctype in (2, 6) and interlace == 0, "unexpected PNG format %r" % ((depth, ctype, interlace),)
        bpp = 3 if ctype == 2 else 4
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
rows = []
i = 0
for y in range(h):
    f = raw[i]; line = bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]
        c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(bytes(line)); prev = line
def px(x, y):
    o = x * bpp
    return tuple(rows[y][o:o + 3])
colours, non_white, total = set(), 0, 0
for y in range(0, h, 3):
    for x in range(0, w, 3):
        p = px(x, y); total += 1
        colours.add(p)
        non_white += p != (255, 255, 255)
header = px(20, 20)
print("screenshot %dx%d: %.1f%% non-white, %d colours, header pixel %r" % (w, h, 100.0 * non_white / total, len(colours), header))
assert w >= 1000 and h >= 1000, "screenshot too small"
assert sum(header) < 200, "the dark page header is not there: the page did not render"
assert non_white / total > 0.1, "the page is mostly white"
assert len(colours) > 50, "too few colours for a page of charts"
# the chart palette is drawn: the first series colour (#4e79a7) appears
assert any(abs(r - 0x4e) < 6 and abs(g - 0x79) < 6 and abs(b - 0xa7) < 6 for (r, g, b) in colours), "no chart colour"
PY
echo "ok: $out/report.png"
