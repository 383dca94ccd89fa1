#!/usr/bin/env bash
# optimize_progress_tty.sh CLI WORKDIR -- issue 17: training shows a progress
# bar (epoch, percentage, loss) redrawn in place on a terminal, and nothing of
# it in a log: the same fine-tuning run under a pseudo-terminal (script(1))
# and with stderr to a file.
set -euo pipefail
cli=$1 work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work"
args=(optimize digits_cnn --prune 0.5 --finetune digits:train --epochs 1 --backends native --no-latency
      --limit 200 --no-store --quiet)
script -qec "$(printf '%q ' "$cli" "${args[@]}" -o tty.onnx)" /dev/null >tty.log 2>&1
grep -aq $'\r' tty.log || { echo "FAIL: no carriage return: the bar is not redrawn in place"; exit 1; }
bars=$(grep -ao '\[#*\.*\] [0-9]*% loss [0-9.]*' tty.log | wc -l)
[ "$bars" -ge 5 ] || { echo "FAIL: $bars progress bar frames on the terminal"; cat tty.log; exit 1; }
grep -aq '\[##############################\] 100% loss' tty.log || { echo "FAIL: the bar never reached 100%"; exit 1; }
grep -aq 'held-out top-1' tty.log || { echo "FAIL: no per-epoch line on the terminal"; exit 1; }
"$cli" "${args[@]}" -o log.onnx 2>log.txt >/dev/null
if grep -aq -e 'progress:' -e '\[#' -e $'\r' log.txt; then echo "FAIL: progress ticks in a log file"; cat log.txt; exit 1; fi
grep -q 'held-out top-1' log.txt || { echo "FAIL: the per-epoch line is missing from the log"; exit 1; }
echo "ok: $bars bar frames on a terminal, none in the log"
