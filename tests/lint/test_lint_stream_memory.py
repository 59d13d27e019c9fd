"""Streaming lint in bounded memory: what stays in memory per document is a small, shared summary; nothing a
rule computes for one document outlives it (benchmarks/bench_lint.py measures 50 MB and 200 MB streams)."""

from __future__ import annotations

import datetime
import gc
import tracemalloc
from collections import Counter
from typing import Iterator

from cogniverse_chart.documents import Document, _walk_stack, walk_strings
from cogniverse_chart.lint import lint, lint_stream
from cogniverse_chart.lint.stream import Compact, Spool

TEMPLATE = {
    "apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate",
    "spec": {"entrypoint": "main", "arguments": {"parameters": [{"name": "region", "value": "eu"}]},
             "templates": [
                 {"name": "main", "steps": [[{"name": f"s{i}", "template": "work",
                                              "arguments": {"parameters": [{"name": "n", "value": f"{i}"}]}}]
                                            for i in range(20)]},
                 {"name": "work", "inputs": {"parameters": [{"name": "n"}]},
                  "container": {"image": "alpine:3.20", "command": ["sh", "-c"],
                                "args": ["curl http://api:8080/{{inputs.parameters.n}} {{workflow.parameters.region}}"
                                         " " + "x" * 400],
                                "envFrom": [{"configMapRef": {"name": "settings"}}]}}]}}


def release(ns: str) -> list[Document]:
    """What a release renders into one namespace: the kinds lint keeps facts of, and a workflow template."""
    def obj(kind: str, api: str = "v1", **rest) -> dict:
        return {"apiVersion": api, "kind": kind, "metadata": {"name": kind.lower(), "namespace": ns}, **rest}

    objs = [
        {**obj("Service", spec={"ports": [{"port": 8080}]}), "metadata": {"name": "api", "namespace": ns}},
        obj("ServiceAccount"),
        obj("Role", "rbac.authorization.k8s.io/v1",
            rules=[{"apiGroups": ["argoproj.io"], "resources": ["workflows", "workflowtaskresults"],
                    "verbs": ["create", "get", "list", "patch", "watch"]}] * 4),
        obj("RoleBinding", "rbac.authorization.k8s.io/v1",
            subjects=[{"kind": "ServiceAccount", "name": "serviceaccount", "namespace": ns}],
            roleRef={"kind": "Role", "name": "role", "apiGroup": "rbac.authorization.k8s.io"}),
        {**obj("ConfigMap", data={f"KEY_{i}": "v" * 200 for i in range(30)}),
         "metadata": {"name": "settings", "namespace": ns}},
        {**TEMPLATE, "metadata": {"name": "pipeline", "namespace": ns}},
    ]
    return [Document(o, "stream.yaml", i) for i, o in enumerate(objs)]


def stream(copies: int) -> Iterator[Document]:
    for n in range(copies):  # built as read: the stream itself is never in memory
        yield from release(f"team-{n}")


def traced_peak(copies: int) -> int:
    """Peak memory allocated while linting the stream (policy rules off: the findings reported, a few per
    release here, are output and not counted)."""
    gc.collect()
    tracemalloc.start()
    try:
        found, checked = lint_stream(stream(copies), disable=("policy/",))
        assert checked == 6 * copies and not found
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_grows_by_a_small_summary_per_document() -> None:
    """Four times the stream adds well under a kilobyte per document (each holds 1-2 kB of YAML): the
    kept kinds are stored as shared summaries, and what the rules compute per document is freed."""
    traced_peak(5)  # first use: schemas, caches and compiled patterns are loaded once
    small, large = traced_peak(40), traced_peak(160)
    per_document = (large - small) / (6 * 120)
    assert per_document < 800, f"{per_document:.0f} bytes kept per document"  # 1,100 without sharing


def test_summaries_do_not_change_findings() -> None:
    docs = [d for d in stream(3)]
    docs.append(Document({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "team-1"},
                          "spec": {"containers": [{"name": "c", "image": "busybox:1",
                                                   "env": [{"name": "U", "value": "http://missing:80/"}]}]}},
                         "stream.yaml", 99))
    streamed, _ = lint_stream(iter(docs))
    assert Counter(f.format() for f in streamed) == Counter(f.format() for f in lint(docs))
    assert any(f.rule == "policy/service-reference" and "'missing'" in f.message for f in streamed)


def test_compact_shares_equal_subtrees_only() -> None:
    c = Compact()
    a = c.share({"rules": [{"verbs": ["get", "list"]}], "n": 1})
    b = c.share({"rules": [{"verbs": ["get", "list"]}], "n": 1})
    assert a is b and a == {"rules": [{"verbs": ["get", "list"]}], "n": 1}
    assert c.share({"x": [1]}) is not c.share({"x": [True]})  # 1 == True, but they are different values
    assert c.share({1: "a"}) is not c.share({True: "a"}) and c.share({True: "a"}) == {True: "a"}
    assert c.share({"x": [1.0]})["x"][0].__class__ is float


def test_spool_keeps_values_of_any_type() -> None:
    """Documents are spooled in marshal form; a value marshal cannot write (a date from PyYAML's slow path)
    falls back to pickle, so the checked document is the one read."""
    spool = Spool()
    docs = [Document({"kind": "ConfigMap", "data": {"k": "é"}}, "s.yaml", 0, ("'k' at line 3",)),
            Document({"kind": "ConfigMap", "data": {"when": datetime.date(2026, 1, 2)}}, "s.yaml", 1)]
    offsets = [spool.put(d) for d in docs]
    assert list(spool) == docs and spool.get(offsets[1]) == docs[1] and spool.get(offsets[0]) == docs[0]
    it = iter(spool)
    assert next(it) == docs[0]
    assert spool.get(offsets[1]) == docs[1] and next(it) == docs[1]  # a read by offset does not disturb
    spool.close()


def test_walk_strings_at_any_depth_leaves_no_garbage() -> None:
    deep: object = "{{x}}"
    for i in range(5000):  # deeper than the recursion limit: the explicit stack takes over
        deep = [deep] if i % 2 else {"k": deep}
    found = walk_strings(deep, ["root"], "{{")
    assert len(found) == 1 and len(found[0][0]) == 5001 and found[0][1] == "{{x}}"
    obj = TEMPLATE["spec"]
    assert walk_strings(obj, ["spec"], "{{") == list(_walk_stack(obj, ["spec"], "{{"))
    gc.collect()
    gc.disable()  # as streaming lint runs: a reference cycle left by the walk would never be freed
    try:
        for _ in range(10):
            walk_strings(obj, [], "://")
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_a_full_temporary_disk_is_one_clear_error(tmp_path, monkeypatch, capsys) -> None:
    """The spool needs about the stream's size in TMPDIR: a full disk is one line naming the directory and
    the remedy, exit 2, never a traceback."""
    import errno
    import tempfile

    from cogniverse_chart import cli

    f = tmp_path / "s.yaml"
    f.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n")

    class Full:
        def __init__(self) -> None:
            self.pos = 0

        def tell(self) -> int:
            return self.pos

        def write(self, data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", Full)
    assert cli.main(["lint", str(f)]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "TMPDIR" in err and "Traceback" not in err
