#!/usr/bin/env bash
# Checks perftrack's NVML probe against nvidia-smi on GPU 0. Builds nothing.
#
#   scripts/gpu-check.sh PATH/TO/gpu_check [ARGS...]
#
# The binary comes from `cargo build -p perftrack --example gpu_check` (built beforehand, e.g.
# target/debug/examples/gpu_check). Further arguments are passed to it. Compares:
#   gpu_total == nvidia-smi memory.total (MiB; rounding to the MiB allowed)
#   gpu_used  ~= nvidia-smi memory.used, within the larger of 1 % of total and 64 MiB
# Prints PASS/FAIL lines; exits 0 if all pass, 1 if one fails, 2 if it cannot run.
set -euo pipefail

MIB=$((1024 * 1024))

if [[ $# -lt 1 ]]; then
    echo "usage: $0 PATH/TO/gpu_check [ARGS...]" >&2
    exit 2
fi
binary=$1
shift
if [[ ! -x $binary ]]; then
    echo "FAIL: $binary is not an executable file" >&2
    exit 2
fi

if ! smi=$(nvidia-smi --query-gpu=memory.total,memory.used --format=csv,noheader,nounits -i 0); then
    echo "FAIL: nvidia-smi could not be run or failed" >&2
    exit 2
fi
IFS=', ' read -r smi_total_mib smi_used_mib <<<"$smi"
if ! [[ $smi_total_mib =~ ^[0-9]+$ && $smi_used_mib =~ ^[0-9]+$ ]]; then
    echo "FAIL: unexpected nvidia-smi output: $smi" >&2
    exit 2
fi
echo "nvidia-smi: memory.total=${smi_total_mib} MiB memory.used=${smi_used_mib} MiB"

if ! line=$("$binary" "$@"); then
    echo "FAIL: $binary exited non-zero (its reason is above)"
    exit 1
fi
echo "gpu_check: $line"

# The value of key $1 in the key=value line.
value() {
    local pair
    for pair in $line; do
        if [[ $pair == "$1="* ]]; then
            echo "${pair#*=}"
            return
        fi
    done
}
gpu_total=$(value gpu_total)
gpu_used=$(value gpu_used)
gpu_free=$(value gpu_free)
for key in gpu_total gpu_used gpu_free; do
    if ! [[ ${!key} =~ ^[0-9]+$ ]]; then
        echo "FAIL: no numeric $key in the output of $binary"
        exit 1
    fi
done

abs() { echo $(($1 < 0 ? -$1 : $1)); }
failed=0

smi_total=$((smi_total_mib * MIB))
diff_total=$(abs $((gpu_total - smi_total)))
if ((diff_total < MIB)); then
    echo "PASS total: gpu_total=$gpu_total, nvidia-smi ${smi_total_mib} MiB = $smi_total (differ by $diff_total B)"
else
    echo "FAIL total: gpu_total=$gpu_total, nvidia-smi ${smi_total_mib} MiB = $smi_total (differ by $diff_total B, 1 MiB allowed)"
    failed=1
fi

smi_used=$((smi_used_mib * MIB))
tolerance=$((gpu_total / 100))
if ((tolerance < 64 * MIB)); then
    tolerance=$((64 * MIB))
fi
diff_used=$(abs $((gpu_used - smi_used)))
if ((diff_used <= tolerance)); then
    echo "PASS used: gpu_used=$gpu_used, nvidia-smi ${smi_used_mib} MiB = $smi_used (differ by $diff_used B, $tolerance allowed)"
else
    echo "FAIL used: gpu_used=$gpu_used, nvidia-smi ${smi_used_mib} MiB = $smi_used (differ by $diff_used B, $tolerance allowed)"
    failed=1
fi

# Informational: version 2 of NVML's memory call leaves the driver's reservation out of used and
# free, so total - used - free is that reservation (it would be about 0 with version 1).
echo "INFO reserved (total - used - free) = $((gpu_total - gpu_used - gpu_free)) B"
if reserved=$(nvidia-smi --query-gpu=memory.reserved --format=csv,noheader,nounits -i 0 2>/dev/null); then
    echo "INFO nvidia-smi memory.reserved = ${reserved} MiB"
fi

exit "$failed"
