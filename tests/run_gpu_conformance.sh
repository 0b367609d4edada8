#!/bin/sh
# Runs the conformance suite against one GPU backend, or skips (exit 77) saying why.
backend=$1 ecostat=$2 tests=$3
if ! why=$("$ecostat" backends --probe "$backend" 2>&1); then
  echo "SKIPPED: conformance on $backend: $why"
  exit 77
fi
ECOSTAT_TEST_BACKEND=$backend exec "$tests" "[conformance]"
