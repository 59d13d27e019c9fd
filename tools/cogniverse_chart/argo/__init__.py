"""Argo Workflows, in three modules:

- `argo.model`: a read-only model of workflow specs (templates, calls, `{{...}}` references), shared by
  the lint rules and the generated docs;
- `argo.manifests`: Workflow manifests and status as pure functions;
- `argo.client`: the live client (`ArgoClient`) through the Kubernetes API.

The names below are the public API of the former single `cogniverse_chart.argo` module, so
`from cogniverse_chart.argo import ArgoClient, WorkflowResult` keeps working.
"""

from .client import ArgoClient, load_api
from .manifests import (CRON_LABEL, FINISHED, PHASES, ArgoError, Node, WaitTimeout, WorkflowResult, apply_parameters,
                        check_parameters, declared_parameters, parse_workflow, progress_line, workflow_from_cron,
                        workflow_from_template)

__all__ = ["ArgoClient", "load_api", "CRON_LABEL", "FINISHED", "PHASES", "ArgoError", "Node", "WaitTimeout",
           "WorkflowResult", "apply_parameters", "check_parameters", "declared_parameters", "parse_workflow",
           "progress_line", "workflow_from_cron", "workflow_from_template"]
