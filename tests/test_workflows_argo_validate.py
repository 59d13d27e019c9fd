"""Argo's own validation (the checks `argo lint` and the workflow-controller run: template and
parameter references, `when` expressions, outputs, templateRefs) on every rendered Argo object.

The checker is a small Go program over Argo's `workflow/validate` package, built from the Argo
version the local cluster pins (cluster/argo/go.mod) with the Go module cache only (GOPROXY=off).
Warm build cache: a few seconds. Without Go or without that Argo module in the module cache the
tests are skipped with a line saying which is missing; CRD-schema validation
(test_workflows_crd.py) runs regardless.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from cogniverse_chart import REPO_ROOT
from test_workflows_helpers import CRON_WORKFLOWS, rendered

ARGO_MODULE = REPO_ROOT / "cluster" / "argo"

GO_SOURCE = r'''
// argolint: validate Workflow, WorkflowTemplate and CronWorkflow documents (stdin, multi-document
// YAML) with Argo's own validation package. One line per object: "OK Kind/name" or "ERROR Kind/name: why".
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/templateresolution"
	"github.com/argoproj/argo-workflows/v3/workflow/validate"
	"sigs.k8s.io/yaml"
)

type getter map[string]*wfv1.WorkflowTemplate

func (g getter) Get(name string) (*wfv1.WorkflowTemplate, error) {
	if t, ok := g[name]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("workflowtemplate %q not found", name)
}

func main() {
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		panic(err)
	}
	var docs [][]byte
	for _, d := range strings.Split("\n"+string(data), "\n---") {
		if strings.TrimSpace(d) != "" {
			docs = append(docs, []byte(d))
		}
	}
	g := getter{}
	kinds := make([]string, len(docs))
	for i, d := range docs {
		var meta struct{ Kind string }
		_ = yaml.Unmarshal(d, &meta)
		kinds[i] = meta.Kind
		if meta.Kind == "WorkflowTemplate" {
			var t wfv1.WorkflowTemplate
			if err := yaml.UnmarshalStrict(d, &t); err == nil {
				g[t.Name] = &t
			}
		}
	}
	cg := &templateresolution.NullClusterWorkflowTemplateGetter{}
	bad := 0
	report := func(kind, name string, err error) {
		if err != nil {
			bad++
			fmt.Printf("ERROR %s/%s: %v\n", kind, name, err)
		} else {
			fmt.Printf("OK %s/%s\n", kind, name)
		}
	}
	for i, d := range docs {
		switch kinds[i] {
		case "WorkflowTemplate":
			var t wfv1.WorkflowTemplate
			if err := yaml.UnmarshalStrict(d, &t); err != nil {
				report(kinds[i], "?", err)
				continue
			}
			report(kinds[i], t.Name, validate.ValidateWorkflowTemplate(g, cg, &t, nil,
				validate.ValidateOpts{Lint: true, WorkflowTemplateValidation: true}))
		case "CronWorkflow":
			var c wfv1.CronWorkflow
			if err := yaml.UnmarshalStrict(d, &c); err != nil {
				report(kinds[i], "?", err)
				continue
			}
			report(kinds[i], c.Name, validate.ValidateCronWorkflow(context.Background(), g, cg, &c, nil))
		case "Workflow":
			var w wfv1.Workflow
			if err := yaml.UnmarshalStrict(d, &w); err != nil {
				report(kinds[i], "?", err)
				continue
			}
			report(kinds[i], w.GenerateName+w.Name, validate.ValidateWorkflow(g, cg, &w, nil,
				validate.ValidateOpts{Lint: true, Submit: true}))
		}
	}
	if bad > 0 {
		os.Exit(1)
	}
}
'''


@pytest.fixture(scope="module")
def argolint(tmp_path_factory) -> Path:
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if not go:
        pytest.skip("Argo's own validation: no Go toolchain on this machine")
    if not (ARGO_MODULE / "go.mod").exists():
        pytest.skip(f"Argo's own validation: {ARGO_MODULE}/go.mod (the pinned Argo version) not found")
    work = tmp_path_factory.mktemp("argolint")
    mod = (ARGO_MODULE / "go.mod").read_text().splitlines()
    mod = [("module cogniverse.local/tests/argolint" if line.startswith("module ") else line) for line in mod]
    # Keep requires and replaces; the `tool` block names mains this module does not build.
    text = "\n".join(mod)
    if "\ntool (" in text:
        head, _, rest = text.partition("\ntool (")
        text = head + "\n" + rest.partition(")")[2]
    (work / "go.mod").write_text(text + "\n")
    shutil.copy(ARGO_MODULE / "go.sum", work / "go.sum")
    (work / "main.go").write_text(GO_SOURCE)
    # Modules missing from the cache (a fresh machine) are fetched through the Go module proxy.
    env = {**os.environ, "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
    proc = subprocess.run([go, "build", "-o", "argolint", "."], cwd=work, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"building the Argo validation checker failed:\n{proc.stderr[-3000:]}")
    return work / "argolint"


def _lint(argolint: Path, objs: list[dict]) -> tuple[int, list[str]]:
    stream = "".join("---\n" + yaml.safe_dump(o, sort_keys=False) for o in objs)
    proc = subprocess.run([str(argolint)], input=stream, capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(("OK ", "ERROR "))]
    return proc.returncode, lines


def _argo_objs(docs):
    return [d.obj for d in docs if d.kind in ("WorkflowTemplate", "CronWorkflow")]


@pytest.mark.parametrize("profile", ["", "k3s", "production", "smoke"], ids=lambda p: f"profile-{p or 'default'}")
def test_argo_accepts_every_rendered_template_and_cron_workflow(argolint, profile):
    objs = _argo_objs(rendered(profile=profile))
    rc, lines = _lint(argolint, objs)
    assert rc == 0 and len(lines) == 9 and all(line.startswith("OK ") for line in lines), "\n".join(lines)


def test_argo_accepts_the_guides_submissions(argolint):
    """The guide's argo submit commands (its parameters) and argo submit --from cronwf/NAME."""
    from cogniverse_chart import generate

    docs = rendered()
    templates = _argo_objs(docs)
    submissions = [
        ("video-ingestion", {"video-dir": "/data/acme_corp/videos", "tenant-id": "acme_corp",
                             "profiles": "video_colpali_smol500_mv_frame,video_videoprism_base_mv_chunk_30s",
                             "batch-size": "20", "max-workers": "8"}),
        ("batch-optimization", {"tenant-id": "acme_corp", "optimizer-category": "routing",
                                "optimizer-type": "modality", "max-iterations": "100", "use-synthetic-data": "true"}),
        ("tenant-provisioning", {"tenant-id": "newcorp_inc", "tenant-name": "NewCorp Inc", "storage-quota": "200Gi",
                                 "cpu-quota": "20", "memory-quota": "40Gi"}),
    ]
    wfs = [generate.workflow_from(docs, f"workflowtemplate/{n}", p) for n, p in submissions]
    wfs += [generate.workflow_from(docs, f"cronwf/{n}", {}) for n in CRON_WORKFLOWS]
    rc, lines = _lint(argolint, templates + wfs)
    assert rc == 0 and all(line.startswith("OK ") for line in lines), "\n".join(lines)
    assert sum(line.startswith("OK Workflow/") for line in lines) == 9


def test_argo_rejects_a_submission_without_the_required_tenant(argolint):
    from cogniverse_chart import generate

    docs = rendered()
    wf = generate.workflow_from(docs, "workflowtemplate/batch-optimization", {})
    rc, lines = _lint(argolint, _argo_objs(docs) + [wf])
    assert rc == 1 and any("tenant-id" in line for line in lines if line.startswith("ERROR Workflow/")), lines


def test_the_checker_catches_a_when_naming_a_missing_step(argolint):
    """Guards the guard (an upstream fault): a reference to a step that does not exist is reported."""
    objs = _argo_objs(rendered())
    for o in objs:
        if o["metadata"]["name"] == "batch-optimization":
            for t in o["spec"]["templates"]:
                for group in t.get("steps") or []:
                    for s in group:
                        if "when" in s:
                            s["when"] = s["when"].replace("steps.run-optimization", "steps.run-optimisation")
    rc, lines = _lint(argolint, objs)
    assert rc == 1 and any(line.startswith("ERROR WorkflowTemplate/batch-optimization") and "run-optimisation" in line
                           for line in lines), lines


def test_argo_rejects_an_optimizer_type_outside_the_enum(argolint):
    from cogniverse_chart import generate

    docs = rendered()
    wf = generate.workflow_from(docs, "workflowtemplate/batch-optimization", {"tenant-id": "acme_corp"})
    for p in wf["spec"]["arguments"]["parameters"]:
        if p["name"] == "optimizer-type":
            p["value"] = "Adam"
    rc, lines = _lint(argolint, _argo_objs(docs) + [wf])
    assert rc == 1 and any("optimizer-type" in line and "enum" in line for line in lines), lines
