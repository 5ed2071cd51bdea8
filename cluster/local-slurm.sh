#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, the smoke workflow through Snakemake's SLURM
# executor, and the services shut down again. Proves that profiles/slurm works end to end.
#
#   sudo bash cluster/local-slurm.sh          (needs root: Debian packages, munged, slurmd)
#   sudo RESUME=1 bash cluster/local-slurm.sh (keep the earlier run's results, submit the rest)
#
# Services: munged (authentication), slurmctld (controller), slurmd (this node). Job
# accounting is left out: the executor plugin's documented alternative is to query job
# states with squeue (--slurm-status-command squeue), which is reliable when finished jobs
# stay visible long enough (MinJobAge=600 s below). The cluster's state and logs live in
# _build/slurm/; its config goes to /etc/slurm/slurm.conf, where srun inside a job looks for
# it (an existing one is put back afterwards). The workflow gets its own cache in
# _build/slurm/cache, so every job of the smoke workflow really runs as a SLURM job.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
D=$REPO/_build/slurm
BIN=$REPO/.venv/bin
SCALE=${SCALE:-smoke}
# RESUME=1 keeps the workflow's cache of an earlier run (only what is missing is submitted)
RESUME=${RESUME:-0}
# datasets: as the Makefile finds them
if [ -z "${NCURV_DATA:-}" ]; then
  if [ -f ../shared/data/README.md ]; then NCURV_DATA=$(cd ../shared/data && pwd); else NCURV_DATA=$REPO/data; fi
fi
export NCURV_DATA

if [ "$(id -u)" != 0 ]; then echo "local-slurm.sh needs root (apt-get, munged, slurmd)" >&2; exit 1; fi
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi
[ -x "$BIN/snakemake" ] || make venv

if [ "$RESUME" = 1 ]; then rm -rf "$D"/{state,spool}; else rm -rf "$D"; fi
mkdir -p "$D"/{state,spool,log,cache}
CONF_FILE=/etc/slurm/slurm.conf
mkdir -p /etc/slurm
if [ -f "$CONF_FILE" ] && ! grep -q "^ClusterName=ncurv-local" "$CONF_FILE"; then
  cp "$CONF_FILE" "$D/slurm.conf.saved"
fi
node=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) - 2048 ))
cat > "$CONF_FILE" <<CONF
ClusterName=ncurv-local
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=600
NodeName=$node CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

stop() {
  echo "--- shutting the cluster down"
  scontrol shutdown >/dev/null 2>&1 || true
  sleep 2
  for pid in "$D"/slurmd.pid "$D"/slurmctld.pid; do
    [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true
  done
  [ -f /run/munge/munged.pid ] && kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
  if [ -f "$D/slurm.conf.saved" ]; then mv "$D/slurm.conf.saved" "$CONF_FILE"
  else cp "$CONF_FILE" "$D/slurm.conf" && rm -f "$CONF_FILE"; fi
  echo "services stopped"
}
trap stop EXIT

echo "--- starting munged, slurmctld, slurmd ($cpus CPUs, $mem MB on node $node)"
mkdir -p /run/munge && chown munge:munge /run/munge && chmod 0755 /run/munge
[ -f /etc/munge/munge.key ] || { mungekey --create 2>/dev/null || create-munge-key -f; }
runuser -u munge -- /usr/sbin/munged
slurmctld -i
slurmd
for _ in $(seq 30); do
  sinfo -h -o %t 2>/dev/null | grep -q idle && break
  sleep 1
done
sinfo
echo "--- a test job"
srun -N1 -n1 hostname

echo "--- the $SCALE workflow through the SLURM executor (own cache: $D/cache)"
start=$(date +%s)
NCURV_CACHE=$D/cache "$BIN/snakemake" all --profile profiles/slurm --config scale="$SCALE" \
  --slurm-no-account --slurm-status-command squeue --jobs "$cpus" --slurm-logdir "$D/log/jobs"
echo "--- $SCALE workflow on SLURM finished in $(( $(date +%s) - start )) s"
squeue --states=all -h -o "%.10i %.24j %.10T %.10M" | head -60 || true
