#!/usr/bin/env bash
# A real one-machine SLURM (slurmctld + slurmd + munge) to try profiles/slurm locally and
# to test it in CI. Needs root and Debian's packages. Usage: scripts/local_slurm.sh start|stop|status
set -euo pipefail

install() {
    if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            slurmctld slurmd slurm-client munge >/dev/null
    fi
}

configure() {
    local host cpus mem
    host=$(hostname -s)
    cpus=$(nproc)
    mem=$(( $(free -m | awk '/^Mem:/ {print $2}') - 1024 ))
    mkdir -p /etc/slurm /var/spool/slurmd /var/spool/slurmctld /run/munge /var/log/slurm
    # the config must live at /etc/slurm/slurm.conf: job steps strip SLURM_CONF
    cat > /etc/slurm/slurm.conf <<CONF
ClusterName=local
SlurmctldHost=${host}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MinJobAge=600
ReturnToService=2
SlurmdSpoolDir=/var/spool/slurmd
StateSaveLocation=/var/spool/slurmctld
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=${host} CPUs=${cpus} RealMemory=${mem} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
    chown munge:munge /run/munge
    [ -f /etc/munge/munge.key ] || mungekey -c
}

start() {
    install
    configure
    pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged
    pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld
    pgrep -x slurmd >/dev/null || /usr/sbin/slurmd
    for _ in $(seq 1 60); do
        if sinfo -h -o "%t" 2>/dev/null | grep -qE "^(idle|mix)"; then
            sinfo
            return 0
        fi
        sleep 1
    done
    echo "SLURM did not become idle within 60 s" >&2
    sinfo >&2 || true
    return 1
}

stop() {
    scontrol shutdown 2>/dev/null || true
    runuser -u munge -- /usr/sbin/munged --stop 2>/dev/null || pkill -x munged || true
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) sinfo ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
