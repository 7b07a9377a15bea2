#!/usr/bin/env bash
# A throw-away single-node Slurm cluster on loopback, for the sweep job-array test.
#
#   scripts/slurm-test-cluster.sh start DIR   # writes DIR/slurm.conf, starts the daemons,
#                                             # waits until the node is idle
#   scripts/slurm-test-cluster.sh stop DIR    # stops them (by their pid files)
#
# Clients find the cluster with SLURM_CONF=DIR/slurm.conf. Needs Debian's slurm-wlm and
# munge (apt-get install -y slurm-wlm munge) and root (the daemons and jobs run as the
# caller). No cgroups: proctrack/linuxproc, task/none. Munge runs with a fresh key and
# its own socket in DIR, so nothing system-wide is touched.
set -euo pipefail

cmd=${1:?usage: $0 start|stop DIR}
dir=$(realpath -m "${2:?usage: $0 start|stop DIR}")

stop() {
  for d in slurmd slurmctld munged; do
    if [[ -f "$dir/$d.pid" ]]; then
      pid=$(cat "$dir/$d.pid")
      kill "$pid" 2>/dev/null || true
      # A throw-away cluster need not shut down gracefully: 1 s, then SIGKILL, and wait,
      # so no daemon outlives the test's temporary folder.
      for _ in $(seq 1 10); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$dir/$d.pid"
    fi
  done
}

if [[ $cmd == stop ]]; then
  stop
  exit 0
fi
[[ $cmd == start ]] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

mkdir -p "$dir/state" "$dir/spool"
node=$(hostname -s)
# Ports unlikely to clash with a real cluster, varied by the caller's pid so parallel
# test runs do not collide.
base=$((20000 + ($$ % 2000) * 2))

dd if=/dev/urandom of="$dir/munge.key" bs=1024 count=1 status=none
chmod 400 "$dir/munge.key"
munged --force --key-file="$dir/munge.key" --socket="$dir/munge.sock" \
  --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munged.seed"

cat > "$dir/slurm.conf" <<CONF
ClusterName=resimtest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$base
SlurmdPort=$((base + 1))
AuthType=auth/munge
AuthInfo=socket=$dir/munge.sock
CredType=cred/munge
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
NodeName=$node NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF

export SLURM_CONF=$dir/slurm.conf
slurmctld -c -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"

for _ in $(seq 1 60); do
  if sinfo -h -N -o '%t' 2>/dev/null | grep -qE '^idle'; then
    echo "slurm cluster up: SLURM_CONF=$SLURM_CONF (node $node)"
    exit 0
  fi
  sleep 0.5
done
echo "slurm cluster did not come up; logs in $dir" >&2
tail -n 20 "$dir"/slurmctld.log "$dir"/slurmd.log "$dir"/munged.log >&2 || true
stop
exit 1
