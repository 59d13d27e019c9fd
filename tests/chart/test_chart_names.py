"""Every object the chart renders has a name of its own, at every release-name, fullname and namespace
length the schema and Helm allow.

Names are cut to 63 characters: a plain cut made two admission policies (and their bindings) share a
name when the fullname was long. Long names now keep a hash of the whole name (cogniverse.dnsLabel),
and cluster-scoped ones are <namespace>.<component name>, so releases in different namespaces never
meet. Rendered with real Helm (3 and 4) at the boundary lengths.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from chart_utils import render_chart

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
CLUSTER_KINDS = {"ClusterRole", "ClusterRoleBinding", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
ALL_ON = {"llm": {"enabled": True}, "runtime": {"ingress": {"enabled": True}}}

NS63 = "n" * 61 + "-x"
REL53 = "r" * 51 + "-y"
#: (release, namespace, values): the longest names Helm (release 53) and the schema (fullnameOverride and
#: nameOverride 40) allow, the shortest, and fullnames that a plain 63-character cut made equal.
CASES = [
    ("r", "n", {}),
    (REL53, NS63, {}),
    (REL53, NS63, {"nameOverride": "o" * 40}),
    ("cv", NS63, {"fullnameOverride": "f" * 40}),
    (REL53[:-1] + "z", NS63, {}),
]


def _names(release: str, namespace: str, values: dict, helm) -> list[tuple[str, str, str]]:
    docs = render_chart({**ALL_ON, **values}, helm=helm, release=release, namespace=namespace)
    return [(d.kind, d.obj["metadata"].get("namespace", ""), d.name) for d in docs]


@pytest.mark.parametrize("release, namespace, values", CASES, ids=["shortest", "longest", "long-nameOverride",
                                                                   "long-fullnameOverride", "longest-twin"])
def test_every_name_is_unique_and_valid_per_kind(helm, release, namespace, values):
    names = _names(release, namespace, values, helm)
    dupes = [k for k, n in Counter(names).items() if n > 1]
    assert not dupes, dupes
    for kind, _, name in names:
        if kind in CLUSTER_KINDS:
            assert len(name) <= 253 and DNS_SUBDOMAIN.match(name), (kind, name)
        else:
            assert len(name) <= 63 and DNS_LABEL.match(name), (kind, name)


def test_two_long_releases_in_a_namespace_share_no_name(helm):
    """Two release names that differ only in their last character: a plain cut gave their
    components (policies, roles, services) the same names. The Argo objects keep their fixed names
    (users run `argo submit --from workflowtemplate/tenant-provisioning`), so a second release in the
    namespace runs with workflows.enabled=false."""
    off = {"workflows": {"enabled": False}}
    a = set(_names(REL53, NS63, {}, helm))
    b = set(_names(REL53[:-1] + "z", NS63, off, helm))
    assert not a & b, sorted(a & b)


def test_cluster_scoped_names_of_releases_in_different_namespaces_never_meet(helm):
    """Namespace a-b with fullname c and namespace a with fullname b-c: joined by '-' both were a-b-c-..."""
    a = {n for n in _names("x", "team-b", {"fullnameOverride": "c"}, helm) if n[0] in CLUSTER_KINDS}
    b = {n for n in _names("x", "team", {"fullnameOverride": "b-c"}, helm) if n[0] in CLUSTER_KINDS}
    assert a and b and not a & b, sorted(a & b)


def test_release_id_label_is_a_valid_label_value_and_distinct(helm):
    """The provisioner's cogniverse.dev/release label (its release identity) at the longest names."""
    ids = set()
    for release, ns in ((REL53, NS63), (REL53[:-1] + "z", NS63), (REL53, NS63[:-1] + "q")):
        docs = render_chart(helm=helm, release=release, namespace=ns)
        (policy,) = [d.obj for d in docs if d.kind == "ValidatingAdmissionPolicy"
                     and d.obj["spec"]["matchConditions"][0]["name"] == "tenant-provisioner"]
        value = {v["name"]: v["expression"] for v in policy["spec"]["variables"]}["releaseId"].strip('"')
        assert len(value) <= 63 and LABEL_VALUE.match(value), value
        ids.add(value)
    assert len(ids) == 3
