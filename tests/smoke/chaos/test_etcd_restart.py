"""The node's etcd restarted (`scripts/local_cluster.sh restart etcd`: SIGTERM, then the same binary, flags and data
directory) while users wait on workflows and submit new ones: as for the API server's restart
(test_apiserver_restart.py), `cogniverse-chart submit --wait`, `cogniverse-chart wait` and `argo wait` each ride it
out or fail within their timeout with one clear line, a submit sent during the outage creates at most one
Workflow, and the workflows finish as they would have. The API server stays up and answers, but nothing it
stores can be read or written until etcd is back."""

from __future__ import annotations

import pytest

from restartlib import commands_across_a_restart, etcd_down

pytestmark = pytest.mark.chaos


def test_commands_survive_or_fail_clearly_across_an_etcd_restart(chaos):
    commands_across_a_restart(chaos, "etcd", etcd_down, "etcd refused connections, API unready, for")
