#!/usr/bin/env bash
# A single-node SLURM cluster on this Debian machine, from Debian's packages, to run and test profiles/slurm without a
# real cluster (tests/test_slurm.py uses it; so can you).
#
#   tools/slurm_local.sh start     install munge + slurmctld + slurmd + slurm-client if missing (root, apt-get), write
#                                  the configuration, start the daemons that are not running, wait for an idle node
#                                  (exit 3: SLURM cannot be installed or started here: no apt-get, not root, ...)
#   tools/slurm_local.sh stop      cancel the cluster's unfinished jobs, end the daemons this script started (their
#                                  pid files), nothing else
#   tools/slurm_local.sh status    the daemons and the node
#
# Safe to re-run: start leaves running daemons alone (stop, then start, to change the configuration); a cold start
# forgets the jobs of earlier clusters (slurmctld -c) and kills a slurmd left behind by one. The state
# (configuration, logs, pid files, spool) lives in $SLURM_LOCAL_DIR (default /tmp/claimbench-slurm). /etc/slurm is never
# written: slurmd runs "configless" (it fetches the configuration from slurmctld and caches it in /run/slurm/conf,
# where sbatch, squeue, srun ... on this machine find it). Pointing SLURM_CONF at the file would not do: the Snakemake
# job-step plugin removes SLURM_* variables before its srun inside each job.
#
# The cluster: one node, "localhost", with this machine's CPUs and 90% of its memory, partition "local", and
# $SLURM_LOCAL_GPUS fake GPUs (default 1), so that GPU requests are scheduled, queued and refused as on a GPU node,
# without a GPU: gres.conf points each at an empty file of its own (SLURM refuses two GPUs on one file, and a GPU
# without File= leaves the node invalid); jobs get no CUDA_VISIBLE_DEVICES. No systemd (the packages start nothing)
# and no cgroups: ProctrackType=proctrack/linuxproc and TaskPlugin=task/none need neither. No accounting database
# (slurmdbd + MariaDB) either: then sacct never sees a job end, so profiles/slurm has the Snakemake plugin poll squeue,
# and MinJobAge=3600 keeps finished jobs visible to squeue for an hour (the plugin needs at least 3x its first status
# wait, 120 s; the hour also lets tests/test_slurm.py read a whole run's jobs back).
set -euo pipefail

STATE="${SLURM_LOCAL_DIR:-/tmp/claimbench-slurm}"
CONF="$STATE/slurm.conf"
GPUS="${SLURM_LOCAL_GPUS:-1}"
NODE=localhost
PACKAGES=(munge slurmctld slurmd slurm-client)
MUNGE_PID=/run/munge/munged.pid

die() { echo "slurm_local: $*" >&2; exit 1; }
cannot_install() { echo "slurm_local: SLURM cannot be installed or started here: $*" >&2; exit 3; }  # tests skip

# pid from a pid file, if that process is alive and runs the expected program
live_pid() {  # pidfile program
    local pid
    [ -f "$1" ] || return 1
    pid="$(tr -dc 0-9 < "$1")"
    [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$2" ] && echo "$pid"
}

install_packages() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || cannot_install "no apt-get (not Debian) and missing ${missing[*]}"
    [ "$(id -u)" = 0 ] || cannot_install "not root; as root: apt-get install ${missing[*]}"
    echo "slurm_local: installing ${missing[*]}"
    apt-get update -q >/dev/null || cannot_install "apt-get update failed (no package repository reachable?)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
        || cannot_install "apt-get install ${missing[*]} failed"
}

write_config() {
    local cpus mem gres_line=""
    cpus="$(nproc)"
    mem="$(awk '/^MemTotal:/ {printf "%d", $2 / 1024 * 0.9}' /proc/meminfo)"
    mkdir -p "$STATE/ctld" "$STATE/slurmd"
    [ "$GPUS" -gt 0 ] && gres_line=" Gres=gpu:$GPUS"
    cat > "$CONF.new" <<EOF
# Written by tools/slurm_local.sh: a single-node test cluster (see the script's header).
ClusterName=claimbench-local
SlurmctldParameters=enable_configless
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
# strict priority order: with backfill, one-CPU jobs kept a two-CPU job waiting (time limits far above run times)
SchedulerType=sched/builtin
ReturnToService=2
MinJobAge=3600
GresTypes=gpu
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem$gres_line State=UNKNOWN
PartitionName=local Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
    mv "$CONF.new" "$CONF"
    : > "$STATE/gres.conf"
    for i in $(seq 0 $((GPUS - 1))); do
        : > "$STATE/fake-gpu$i"
        echo "NodeName=$NODE Name=gpu File=$STATE/fake-gpu$i" >> "$STATE/gres.conf"
    done
}

start_munge() {
    if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
        return 0  # a munged already answers (ours from an earlier start, or the machine's own): leave it
    fi
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    chmod 0755 /run/munge
    [ -f /etc/munge/munge.key ] || { mungekey --create --keyfile=/etc/munge/munge.key; chown munge:munge /etc/munge/munge.key; }
    runuser -u munge -- /usr/sbin/munged || die "munged did not start; see /var/log/munge/munged.log"
    cp "$MUNGE_PID" "$STATE/munged.pid"  # the record that this script started it
}

start() {
    if live_pid "$STATE/slurmctld.pid" slurmctld >/dev/null && live_pid "$STATE/slurmd.pid" slurmd >/dev/null; then
        wait_for_node  # already up: keep its daemons, configuration and jobs (any user may check that)
        return
    fi
    install_packages
    [ "$(id -u)" = 0 ] || cannot_install "the daemons are not running and only root can start them"
    mkdir -p "$STATE"
    if ! live_pid "$STATE/slurmctld.pid" slurmctld >/dev/null; then
        # A cold start. A slurmd left from the last controller would keep that one's configuration: end it too.
        stop_daemon slurmd
        write_config
        for log in slurmctld slurmd; do
            if [ -f "$STATE/$log.log" ]; then mv -f "$STATE/$log.log" "$STATE/$log.log.old"; fi
        done
    fi
    start_munge
    # -c: a new controller forgets the jobs of an earlier one (its saved state would bring them back, with their job
    # ids and the GPUs they held)
    live_pid "$STATE/slurmctld.pid" slurmctld >/dev/null || /usr/sbin/slurmctld -c -f "$CONF" \
        || die "slurmctld did not start; see $STATE/slurmctld.log"
    live_pid "$STATE/slurmd.pid" slurmd >/dev/null || /usr/sbin/slurmd --conf-server 127.0.0.1 -N "$NODE" \
        || die "slurmd did not start; see $STATE/slurmd.log"
    wait_for_node
}

# Until the node takes jobs and the client commands find the configuration the way jobs do (slurmd's configless cache
# in /run/slurm/conf, without SLURM_CONF): the first sbatch right after a start must not race slurmd's registration.
wait_for_node() {
    local state=""
    for _ in $(seq 120); do
        state="$(SLURM_CONF="$CONF" sinfo -h -N -n "$NODE" -o %T 2>/dev/null || true)"
        case "$state" in
            idle|mixed|allocated)
                if env -u SLURM_CONF scontrol ping >/dev/null 2>&1; then
                    echo "slurm_local: node $NODE $state (configuration $CONF)"
                    return 0
                fi ;;
            down*|drain*) SLURM_CONF="$CONF" scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true ;;
        esac
        sleep 0.5
    done
    die "node $NODE not up after 60 s (state '${state}'); see $STATE/slurmctld.log and $STATE/slurmd.log"
}

# End one daemon this script started (by its pid file), waiting until it is gone.
stop_daemon() {  # name
    local pid
    if pid="$(live_pid "$STATE/$1.pid" "$1")"; then
        kill "$pid"
        for _ in $(seq 100); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
        [ -d "/proc/$pid" ] && die "$1 ($pid) did not stop"
        echo "slurm_local: stopped $1 ($pid)"
    fi
    rm -f "$STATE/$1.pid"
}

stop() {
    local jobs
    # this cluster's unfinished jobs first: without slurmd their processes would run on, unmanaged
    if live_pid "$STATE/slurmctld.pid" slurmctld >/dev/null; then
        jobs="$(SLURM_CONF="$CONF" squeue -h -t PENDING,RUNNING,SUSPENDED,COMPLETING -o %i 2>/dev/null || true)"
        if [ -n "$jobs" ]; then
            # shellcheck disable=SC2086
            SLURM_CONF="$CONF" scancel $jobs || true
            for _ in $(seq 100); do
                [ -z "$(SLURM_CONF="$CONF" squeue -h -t RUNNING,COMPLETING -o %i 2>/dev/null)" ] && break
                sleep 0.1
            done
            echo "slurm_local: cancelled jobs" $jobs
        fi
    fi
    # slurmd first (it reports to slurmctld), munged last (both use it)
    for daemon in slurmd slurmctld munged; do stop_daemon "$daemon"; done
    # slurmd's configuration cache link, if it points into this cluster's state
    [ "$(readlink /run/slurm/conf 2>/dev/null)" = "$STATE/slurmd/conf-cache" ] && rm -f /run/slurm/conf
    return 0
}

status() {
    local pid rc=0
    for daemon in munged slurmctld slurmd; do
        if pid="$(live_pid "$STATE/$daemon.pid" "$daemon")"; then echo "$daemon: running ($pid)"
        else echo "$daemon: not started by this script"; [ "$daemon" = munged ] || rc=1; fi
    done
    [ -f "$CONF" ] && SLURM_CONF="$CONF" sinfo -N -o "%N %P %T %c %m %G" 2>/dev/null || rc=1
    return $rc
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) die "usage: $0 start|stop|status" ;;
esac
