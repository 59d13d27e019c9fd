"""The node's kube-apiserver restarted (`scripts/local_cluster.sh restart apiserver`: SIGTERM, then the same
process and flags again) while users wait on workflows and submit new ones: `cogniverse-chart submit --wait`,
`cogniverse-chart wait` and `argo wait` each either ride out the restart and report the result, or fail within
their timeout with one clear line (no traceback); a submit sent while the API is down creates at most one
Workflow; the workflows themselves finish as they would have (their state is in the API, the controller and
the step pods reconnect). A step whose executor could not report while the API was down fails and is retried
by the chart's retryStrategy: a retry shown in the workflow, never a hidden second run.

`argo wait` (Argo's own CLI, v3.7.18) exits 1 without a word when the API server goes away under its watch: it
is held only to ending within its time, and `argo wait` run again afterwards must report the result."""

from __future__ import annotations

import pytest

from restartlib import api_down, commands_across_a_restart

pytestmark = [pytest.mark.chaos, pytest.mark.group("chaos")]


def test_commands_survive_or_fail_clearly_across_an_apiserver_restart(chaos):
    commands_across_a_restart(chaos, "kube-apiserver", api_down, "API refused connections for")
