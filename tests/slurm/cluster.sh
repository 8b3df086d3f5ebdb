#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine, for the SLURM test (and
# for anyone learning the setup). Debian/Ubuntu, as root.
#
#   bash tests/slurm/cluster.sh install   # apt-get install slurm-wlm munge
#   bash tests/slurm/cluster.sh start     # write slurm.conf, start munged, slurmctld, slurmd
#   bash tests/slurm/cluster.sh stop      # stop exactly the daemons start started (by PID)
#
# `start` records the daemons' PIDs in $STATE (default /tmp/ahrec-slurm); `stop`
# kills those PIDs only, never processes found by name.
set -euo pipefail
STATE="${AHREC_SLURM_STATE:-/tmp/ahrec-slurm}"

install() {
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
}

write_config() {
    local cpus memory
    cpus=$(getconf _NPROCESSORS_ONLN)  # not nproc: it obeys OMP_NUM_THREADS
    memory=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.8}' /proc/meminfo)
    mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
    chown munge:munge /run/munge
    cat > /etc/slurm/slurm.conf <<CONF
ClusterName=local
SlurmctldHost=localhost
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ReturnToService=2
NodeName=localhost CPUs=${cpus} RealMemory=${memory} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
}

wait_for() {  # wait_for <seconds> <command...>
    local deadline=$(( $(date +%s) + $1 )); shift
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 1
    done
}

start() {
    [ -f /etc/munge/munge.key ] || { echo "munge is not installed: run '$0 install' first" >&2; exit 1; }
    mkdir -p "$STATE"
    write_config
    /usr/sbin/munged --force 2>/dev/null || true
    wait_for 10 test -f /run/munge/munged.pid
    cp /run/munge/munged.pid "$STATE/munged.pid"
    /usr/sbin/slurmctld
    wait_for 20 test -f /run/slurmctld.pid
    cp /run/slurmctld.pid "$STATE/slurmctld.pid"
    /usr/sbin/slurmd
    wait_for 20 test -f /run/slurmd.pid
    cp /run/slurmd.pid "$STATE/slurmd.pid"
    wait_for 60 bash -c "sinfo -h -o %t | grep -q idle"
    sinfo
}

stop() {
    for daemon in slurmd slurmctld munged; do
        if [ -f "$STATE/$daemon.pid" ]; then
            pid=$(cat "$STATE/$daemon.pid")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
            rm -f "$STATE/$daemon.pid"
        fi
    done
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
