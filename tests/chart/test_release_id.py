"""The release identity (label cogniverse.dev/release, the provisioner policy's releaseId) when
`<namespace>.<fullname>` is longer than a label value: 16 hex digits (64 bits) of its SHA-256, so a values
author cannot search out another release's id (attack21d #13: 8 hex digits, 32 bits, were within reach).
An upgrade of a release installed with the older 8-hex id keeps it through `lookup`: a cluster test,
tests/smoke/test_release_id_upgrade.py."""

from __future__ import annotations

import hashlib
import re

import pytest

from chart_utils import render_chart
from cogniverse_chart.documents import walk_strings
from cogniverse_chart.helm import available_helms

NS = "org-division-department-team-project-environment-abc"  # 52 characters
LABEL_VALUE = re.compile(r"^[a-z0-9A-Z]([-a-z0-9A-Z_.]{0,61}[a-z0-9A-Z])?$")


def expected(full: str) -> str:
    return f"{full[:46].rstrip('-')}-{hashlib.sha256(full.encode()).hexdigest()[:16]}" if len(full) > 63 else full


def ids_in(docs) -> set[str]:
    """Every place the id is written: the policy's releaseId, the labels tenant-provisioning writes and its
    release-id argument. One value, or the policy refuses the release's own provisioner."""
    (policy,) = [d.obj for d in docs if d.kind == "ValidatingAdmissionPolicy" and d.name.endswith("-tenant-provisioner")]
    found = {{v["name"]: v["expression"] for v in policy["spec"]["variables"]}["releaseId"].strip('"')}
    (template,) = [d for d in docs if d.kind == "WorkflowTemplate" and d.name == "tenant-provisioning"]
    for _, text in walk_strings(template.obj, [], "cogniverse.dev/release"):  # the manifests its steps apply
        found |= set(re.findall(r'cogniverse\.dev/release: "([^"]+)"', text))
    found |= {p.get("value") for t in template.obj["spec"]["templates"] for s in t.get("steps") or [] for step in s
              for p in (step.get("arguments") or {}).get("parameters") or [] if p["name"] == "release-id"}
    found.discard(None)
    assert len(found) > 0
    return found


@pytest.mark.parametrize("helm", available_helms(), ids=lambda h: f"helm{h.major}")
def test_a_long_release_id_carries_64_bits_of_its_hash_everywhere(helm):
    ids = []
    for fullname in ("cv-cogniverse-one", "cv-cogniverse-two"):  # the same first 54 characters
        docs = render_chart({"fullnameOverride": fullname}, helm=helm, release="cv", namespace=NS)
        found = ids_in(docs)
        assert found == {expected(f"{NS}.{fullname}")}, found
        (value,) = found
        assert len(value) <= 63 and LABEL_VALUE.match(value) and re.search(r"-[0-9a-f]{16}$", value), value
        ids.append(value)
    assert ids[0][:46] == ids[1][:46] and ids[0] != ids[1]


def test_a_short_release_id_is_the_names_themselves():
    docs = render_chart(release="cv", namespace="cogniverse-prod")
    assert ids_in(docs) == {"cogniverse-prod.cv-cogniverse"}


def test_the_new_form_never_equals_an_old_8_hex_id():
    """An old id (first 54, '-', 8 hex) and a new one (first 46, '-', 16 hex) differ at the ninth character from
    the end ('-' against a hex digit), whatever the names: a new release cannot be given an old one's id."""
    old = lambda full: f"{full[:54].rstrip('-')}-{hashlib.sha256(full.encode()).hexdigest()[:8]}"  # noqa: E731
    for full in (f"{NS}.cv-cogniverse", "a" * 45 + "-" + "b" * 30, "x" * 64):
        assert expected(full)[-9] != "-" and old(full)[-9] == "-"
