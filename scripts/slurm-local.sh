#!/usr/bin/env bash
# scripts/slurm-local.sh -- stand up / tear down a single-node SLURM cluster on this
# machine (localhost), for the tests of profiles/slurm (tests/test_slurm.py).
# Adapted from ../shared/reference/slurm-local-cluster.md, where every step was measured.
#
#   slurm-local.sh up      install packages if missing, write /etc/slurm/slurm.conf,
#                          start munged, slurmctld, slurmd (each only if not running),
#                          wait until the node is idle.  Idempotent.
#   slurm-local.sh check   srun + sbatch smoke test against the running cluster.
#   slurm-local.sh status  show daemons (by pid file) and sinfo.
#   slurm-local.sh down    stop slurmd, slurmctld, munged by their pid files.
#
# Must run as root on Debian/Ubuntu without systemd.  No accounting database:
# sacct does not work; use `--slurm-status-command squeue` in Snakemake.
set -euo pipefail

PKGS=(munge slurm-client slurmctld slurmd)
CONF=/etc/slurm/slurm.conf
MUNGE_KEY=/etc/munge/munge.key
MUNGE_PID=/run/munge/munged.pid
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
LOGDIR=/var/log/slurm
STATEDIR=/var/lib/slurm
PARTITION=${SLURM_LOCAL_PARTITION:-debug}
WAIT_S=${SLURM_LOCAL_WAIT_S:-60}
APT_LOG=/var/log/slurm-local-apt.log

log() { printf '[slurm-local] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# true if the pid file names a live process
alive() {
  local pid
  [[ -s $1 ]] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# stop the process named in a pid file (TERM, then KILL after 15 s)
stop_pidfile() {
  local f=$1 name=$2 pid i
  if ! alive "$f"; then
    log "$name not running"
    rm -f "$f"
    return 0
  fi
  pid=$(<"$f")
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not stop in 15 s, sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$f"
}

# wait until a pid file names a live process
wait_pidfile() {
  local f=$1 name=$2 i
  for ((i = 0; i < 100; i++)); do
    alive "$f" && return 0
    sleep 0.1
  done
  die "$name did not come up (no live pid in $f)"
}

install_pkgs() {
  local missing=() p own_policy=0
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]}"
  # No init system here: keep the packages' maintainer scripts from starting
  # the daemons (with no config yet) during installation.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${missing[@]}" >"$APT_LOG" 2>&1; then
    log "apt-get install failed; running apt-get update and retrying"
    apt-get update >>"$APT_LOG" 2>&1
    apt-get install -y --no-install-recommends "${missing[@]}" >>"$APT_LOG" 2>&1 ||
      { ((own_policy)) && rm -f /usr/sbin/policy-rc.d; tail -20 "$APT_LOG" >&2; die "apt-get install failed"; }
  fi
  ((own_policy)) && rm -f /usr/sbin/policy-rc.d
  return 0
}

node_name() { hostname -s; }

# print the slurm.conf for this machine on stdout
render_conf() {
  local node hw mem
  node=$(node_name)
  # e.g. "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"
  hw=$(slurmd -C 2>/dev/null | head -n1)
  [[ $hw == NodeName=* ]] || die "slurmd -C gave no hardware line"
  mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$hw")
  mem=$((mem * 9 / 10)) # a node that reports less memory than configured is drained
  hw=$(sed -e 's/^NodeName=[^ ]* *//' -e "s/RealMemory=[0-9]*/RealMemory=$mem/" <<<"$hw")
  cat <<EOF
# Written by slurm-local.sh: single-node test cluster on localhost.
ClusterName=localci
SlurmctldHost=${node}(127.0.0.1)
AuthType=auth/munge
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=${STATEDIR}/slurmctld
SlurmdSpoolDir=${STATEDIR}/slurmd
SlurmctldPidFile=${CTLD_PID}
SlurmdPidFile=${SLURMD_PID}
SlurmctldLogFile=${LOGDIR}/slurmctld.log
SlurmdLogFile=${LOGDIR}/slurmd.log
# avoid cgroup plugins (containers/sandboxes): /proc process tracking, no CPU binding
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
# finished jobs stay visible to squeue for 300 s (Snakemake polls with squeue)
MinJobAge=300
ReturnToService=2
# no slurmdbd: sacct/sacctmgr do not work; completed jobs are logged to a text file
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=${LOGDIR}/jobcomp.log
NodeName=${node} NodeAddr=127.0.0.1 NodeHostname=${node} ${hw} State=UNKNOWN
PartitionName=${PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

setup_munge() {
  if [[ ! -s $MUNGE_KEY ]]; then
    log "creating munge key"
    mkdir -p /etc/munge
    if command -v mungekey >/dev/null; then
      mungekey --create --force --keyfile="$MUNGE_KEY"
    else
      dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
    fi
  fi
  chown munge:munge /etc/munge "$MUNGE_KEY"
  chmod 0700 /etc/munge
  chmod 0400 "$MUNGE_KEY"
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge
  chmod 0755 /run/munge
  if alive "$MUNGE_PID"; then
    log "munged already running (pid $(<"$MUNGE_PID"))"
  else
    rm -f "$MUNGE_PID"
    log "starting munged"
    runuser -u munge -- /usr/sbin/munged
    wait_pidfile "$MUNGE_PID" munged
  fi
  munge -n | unmunge >/dev/null || die "munge round trip failed"
}

node_state() { sinfo -h -n "$(node_name)" -o %t 2>/dev/null | head -n1; }

cmd_up() {
  [[ $(id -u) -eq 0 ]] || die "must run as root"
  install_pkgs
  mkdir -p /etc/slurm "$LOGDIR" "$STATEDIR/slurmctld" "$STATEDIR/slurmd"

  local new
  new=$(render_conf)
  if [[ ! -f $CONF ]] || [[ $new != "$(<"$CONF")" ]]; then
    if alive "$CTLD_PID" || alive "$SLURMD_PID"; then
      log "slurm.conf changed: restarting slurm daemons"
      stop_pidfile "$SLURMD_PID" slurmd
      stop_pidfile "$CTLD_PID" slurmctld
    fi
    [[ -f $CONF ]] && cp "$CONF" "$CONF.bak"
    printf '%s\n' "$new" >"$CONF"
    log "wrote $CONF"
  fi

  setup_munge

  if alive "$CTLD_PID"; then
    log "slurmctld already running (pid $(<"$CTLD_PID"))"
  else
    rm -f "$CTLD_PID"
    log "starting slurmctld (clean state)"
    slurmctld -c # -c: forget jobs/nodes saved by an earlier run
    wait_pidfile "$CTLD_PID" slurmctld
  fi
  if alive "$SLURMD_PID"; then
    log "slurmd already running (pid $(<"$SLURMD_PID"))"
  else
    rm -f "$SLURMD_PID"
    log "starting slurmd"
    slurmd -N "$(node_name)"
    wait_pidfile "$SLURMD_PID" slurmd
  fi

  local i st=""
  for ((i = 0; i < WAIT_S * 4; i++)); do
    st=$(node_state || true)
    case $st in
      idle | mix | alloc | comp) log "node $(node_name) is $st: cluster ready"; return 0 ;;
      down* | drain* | drng*) scontrol update NodeName="$(node_name)" State=RESUME 2>/dev/null || true ;;
    esac
    sleep 0.25
  done
  tail -n 20 "$LOGDIR/slurmctld.log" "$LOGDIR/slurmd.log" >&2 || true
  die "node not ready after ${WAIT_S}s (state: '${st}')"
}

cmd_check() {
  local out jid st i
  out=$(srun -N1 -n1 -t 1 hostname) || die "srun failed"
  log "srun ok: $out"
  jid=$(sbatch --parsable -t 1 -o /dev/null --wrap 'sleep 1') || die "sbatch failed"
  for ((i = 0; i < 120; i++)); do
    st=$(squeue -h -j "$jid" --states=all -o %T 2>/dev/null || true)
    [[ $st == COMPLETED ]] && { log "sbatch job $jid COMPLETED"; return 0; }
    [[ $st == FAILED || $st == CANCELLED* || $st == TIMEOUT || $st == NODE_FAIL ]] && die "job $jid $st"
    sleep 0.5
  done
  die "sbatch job $jid did not finish (state '$st')"
}

cmd_status() {
  local f
  for f in "$MUNGE_PID" "$CTLD_PID" "$SLURMD_PID"; do
    if alive "$f"; then echo "$(basename "$f" .pid): running (pid $(<"$f"))"; else echo "$(basename "$f" .pid): stopped"; fi
  done
  if alive "$CTLD_PID"; then sinfo || true; fi
}

cmd_down() {
  local jobs i
  if alive "$CTLD_PID"; then # cancel leftover jobs of this test cluster, by id
    jobs=$(squeue -h -o %i 2>/dev/null || true)
    if [[ -n $jobs ]]; then
      log "cancelling jobs: $(tr '\n' ' ' <<<"$jobs")"
      # shellcheck disable=SC2086
      scancel $jobs 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do
        [[ -z $(squeue -h -o %i 2>/dev/null) ]] && break
        sleep 0.2
      done
    fi
  fi
  stop_pidfile "$SLURMD_PID" slurmd
  stop_pidfile "$CTLD_PID" slurmctld
  stop_pidfile "$MUNGE_PID" munged
  # With our slurm.conf left behind and no slurmctld, every `scontrol show config` waits ~9 s for
  # the dead controller, and the SLURM executor plugin runs it whenever Snakemake starts: remove
  # the file we wrote (restoring one that was there before), so later runs start at full speed.
  if [[ -f $CONF ]] && ours "$CONF"; then
    rm -f "$CONF"
    [[ -f $CONF.bak ]] && ! ours "$CONF.bak" && mv "$CONF.bak" "$CONF"
    log "removed our $CONF"
  fi
}

ours() { # a slurm.conf this script wrote
  head -n1 "$1" | grep -q '^# Written by slurm-local.sh'
}

case ${1:-} in
  up) cmd_up ;;
  check) cmd_check ;;
  status) cmd_status ;;
  down) cmd_down ;;
  *) echo "usage: $0 up|check|status|down" >&2; exit 2 ;;
esac
