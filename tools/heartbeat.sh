#!/usr/bin/env bash
# Run a command and say every 10 s that it is still running, so that a long,
# quiet step (a cold package download, generating the demo cohort) never looks stuck.
#   tools/heartbeat.sh "what is running" command [args...]
set -uo pipefail
label=$1
shift
"$@" &
pid=$!
start=$SECONDS
while kill -0 "$pid" 2>/dev/null; do
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    sleep 1
    kill -0 "$pid" 2>/dev/null || break
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "  ... $label: still running ($((SECONDS - start)) s)"
  fi
done
wait "$pid"
