#!/usr/bin/env bash
# Installs bin/davit and the systemd unit on this node.
#   scripts/install.sh                      # first node: bootstraps a cluster
#   DAVIT_JOIN=10.0.0.1:9640 DAVIT_JOIN_TOKEN=... scripts/install.sh   # further nodes
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x bin/davit ] || make build
install -m 0755 bin/davit /usr/local/bin/davit
install -d -m 0755 /etc/davit /var/lib/davit
if [ ! -f /etc/davit/agent.yaml ]; then
  cat > /etc/davit/agent.yaml <<CFG
dataDir: /var/lib/davit
# httpAddr and raftAddr must be reachable by the other nodes in a cluster.
httpAddr: ${DAVIT_HTTP_ADDR:-127.0.0.1:9640}
raftAddr: ${DAVIT_RAFT_ADDR:-127.0.0.1:9641}
CFG
fi
: > /etc/default/davit
[ -n "${DAVIT_JOIN:-}" ] && echo "DAVIT_JOIN=${DAVIT_JOIN}" >> /etc/default/davit
[ -n "${DAVIT_JOIN_TOKEN:-}" ] && echo "DAVIT_JOIN_TOKEN=${DAVIT_JOIN_TOKEN}" >> /etc/default/davit
install -m 0644 scripts/davit-agent.service /etc/systemd/system/davit-agent.service
systemctl daemon-reload
systemctl enable --now davit-agent.service
echo "davit agent installed; try: davit status"
