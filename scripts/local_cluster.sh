#!/usr/bin/env bash
# The offline single-node cluster's command line: cluster/node.sh (see docs/local-cluster.md).
exec "$(dirname "${BASH_SOURCE[0]}")/../cluster/node.sh" "$@"
