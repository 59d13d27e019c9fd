"""A FAKE (in-memory) stand-in for the kubernetes client's CustomObjectsApi and the Workflow status it
replays, for the tests of cogniverse_chart.argo (not a test file). Not a cluster: what a fake cannot
show is covered by the smoke suite (tests/smoke/)."""

from __future__ import annotations

import copy
from typing import Any

from cogniverse_chart.argo import manifests as argo


class FakeCustomObjectsApi:
    """FAKE (in-memory) stand-in for kubernetes.client.CustomObjectsApi: stores objects, names
    generateName objects, and replays scripted status updates on each get. Not a cluster."""

    def __init__(self, objects: dict[tuple[str, str], dict[str, Any]] | None = None):
        self.objects = objects or {}
        self.created: list[dict[str, Any]] = []
        self.status_script: dict[str, list[dict[str, Any]]] = {}
        self.list_calls: list[dict[str, Any]] = []

    def get_namespaced_custom_object(self, group, version, namespace, plural, name):
        from kubernetes.client.exceptions import ApiException

        assert (group, version) == ("argoproj.io", "v1alpha1")
        obj = self.objects.get((plural, name))
        if obj is None:
            raise ApiException(status=404, reason="Not Found")
        script = self.status_script.get(name)
        if script:
            obj["status"] = script.pop(0)
        return copy.deepcopy(obj)

    def create_namespaced_custom_object(self, group, version, namespace, plural, body):
        body = copy.deepcopy(body)
        name = body["metadata"].get("name") or body["metadata"]["generateName"] + f"x{len(self.created)}"
        body["metadata"].update(name=name, namespace=namespace)
        self.objects[(plural, name)] = body
        self.created.append(body)
        return body

    def list_namespaced_custom_object(self, group, version, namespace, plural, **kw):
        self.list_calls.append(kw)
        return {"items": [copy.deepcopy(o) for (p, _), o in self.objects.items() if p == plural]}


def workflow_status(phase: str, *, outputs: dict[str, str] | None = None, nodes: dict[str, Any] | None = None,
            message: str = "") -> dict[str, Any]:
    st: dict[str, Any] = {"phase": phase, "startedAt": "2026-11-27T10:00:00Z", "nodes": nodes or {}}
    if outputs:
        st["outputs"] = {"parameters": [{"name": k, "value": v} for k, v in outputs.items()]}
    if message:
        st["message"] = message
    if phase in argo.FINISHED:
        st["finishedAt"] = "2026-11-27T10:01:00Z"
    return st
