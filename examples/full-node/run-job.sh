#!/bin/sh
# The job script of gpu-provider.yaml (provider.executor: { type: command,
# command: ./run-job.sh }). A relative command is resolved against the config
# file's directory, so this file is found wherever `shoal node start` runs.
#
# What the node gives it (the command executor, @shoal/work commandExecutor):
#   stdin     the job's input bytes, exactly as the requester sent them
#   stdout    the job's result: its SHA-256 goes into the signed receipt and
#             the bytes go back to the requester (at most 1 MiB; more kills
#             the job and it fails with executor-failed)
#   stderr    not sent anywhere; keep it short (the node keeps the first 4 KiB)
#   exit      the receipt's status: 0 = success; anything else is a failed job
#             (still paid for its units, but it counts against reputation);
#             killed after provider.executor.timeoutMs -> status 124
#   processes the script leads a process group of its own: timeout, cancel,
#             hand-back and node shutdown end the whole group (SIGTERM, then
#             SIGKILL 2 s later), and so does this script's exit: nothing it
#             starts, in the background or not, outlives the job
#   args      provider.executor.args from the config, if any (none here)
#   env, cwd  the node's own environment and working directory: no job id,
#             workload or requester is passed (the input is all the job says)
#
# Replace the body below with your workload. As shipped it runs MODEL_CMD
# when that variable names a program on this machine (e.g. a local model
# runner reading a prompt on stdin), and otherwise answers with the input in
# upper case, so the path can be tested end to end without a GPU.
set -eu

if [ -n "${MODEL_CMD:-}" ] && command -v "${MODEL_CMD%% *}" >/dev/null 2>&1; then
  # --- plug your workload in here: input on stdin, result on stdout ---
  # unquoted on purpose: MODEL_CMD may carry arguments ("llama-run --model m.gguf")
  # shellcheck disable=SC2086
  exec $MODEL_CMD
fi

tr '[:lower:]' '[:upper:]'
