#!/usr/bin/env bash
# Puts a freshly installed host into the swarm, for the Vagrantfile (and its lab test):
# node 1 inits it, the others join node 1 with the tokens in $SHOAL_JOIN_FILE
# (WORKER_TOKEN=…, MANAGER_TOKEN=…, written by the Vagrantfile from node 1). Does nothing
# on a host already in a swarm, so `vagrant provision` may run it again.
#
#   scripts/vagrant-swarm.sh K IP ROLE FIRST_IP      ROLE: manager | worker
set -euo pipefail
[[ $# == 4 ]] || { echo "usage: $0 K IP manager|worker FIRST_IP" >&2; exit 2; }
k=$1 ip=$2 role=$3 first_ip=$4
join_file=${SHOAL_JOIN_FILE:-/vagrant/tmp/vagrant/join.env}
[[ $role == manager || $role == worker ]] || { echo "shoal$k: role must be manager or worker, got $role" >&2; exit 2; }
state=$(shoal info --format '{{.Swarm.LocalNodeState}}')
if [[ $state == active ]]; then
  echo "shoal$k: already in the swarm"
  exit 0
fi
if [[ $k == 1 ]]; then
  shoal swarm init --advertise-addr "$ip" --listen-addr "$ip:2377"
else
  [[ -f $join_file ]] || { echo "shoal$k: no join tokens in $join_file (bring node 1 up first)" >&2; exit 1; }
  # shellcheck source=/dev/null
  source "$join_file"
  token=$WORKER_TOKEN
  [[ $role == manager ]] && token=$MANAGER_TOKEN
  shoal swarm join --token "$token" --advertise-addr "$ip" --listen-addr "$ip:2377" "$first_ip:2377"
fi
