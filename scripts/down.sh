#!/usr/bin/env bash
# Stops the components `scripts/up.sh` started: `just down`.
#
# Reads the pid files in .baton/pids, asks each process to stop (TERM), waits up to five seconds
# for a graceful shutdown, then KILLs whatever is left. A pid file whose process is gone, or whose
# pid now belongs to some other program, is simply removed: we only ever signal a process whose
# name shows it is one of ours.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# BATON_STATE_DIR: a platform `up.sh` started elsewhere (the chaos run's).
pid_dir=${BATON_STATE_DIR:-.baton}/pids
grace_secs=5

# Whether process $1 is running. A zombie (exited, not yet reaped by `up.sh`) is not.
running() {
    local state
    state=$(ps -p "$1" -o stat= 2>/dev/null) || return 1
    [[ -n $state && $state != Z* ]]
}

# Prints the pid recorded in file $1 if that process is running and is a Baton binary.
live_baton_pid() {
    local pid
    pid=$(<"$1") || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    running "$pid" || return 1
    [[ $(ps -p "$pid" -o args= 2>/dev/null) == *baton-* ]] || return 1
    echo "$pid"
}

shopt -s nullglob
pid_files=("$pid_dir"/*.pid)
if ((${#pid_files[@]} == 0)); then
    echo "nothing to stop: no pid files in $pid_dir"
    exit 0
fi

stopping=()
for file in "${pid_files[@]}"; do
    name=$(basename "$file" .pid)
    if pid=$(live_baton_pid "$file"); then
        kill -TERM "$pid" 2>/dev/null || true
        stopping+=("$name:$pid")
    else
        echo "$name: already stopped"
    fi
done

deadline=$((SECONDS + grace_secs))
for entry in ${stopping[@]+"${stopping[@]}"}; do
    name=${entry%%:*}
    pid=${entry##*:}
    while running "$pid" && ((SECONDS < deadline)); do
        sleep 0.1
    done
    if running "$pid"; then
        kill -KILL "$pid" 2>/dev/null || true
        echo "$name: killed (pid $pid did not stop within ${grace_secs}s)"
    else
        echo "$name: stopped (pid $pid)"
    fi
done

rm -f "${pid_files[@]}"
