package main

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// invoke runs the runner like the container does and returns exit code, stderr and the outputs written.
func invoke(t *testing.T, env map[string]string, argv ...string) (int, string, map[string]string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "outputs")
	getenv := func(k string) string {
		if k == "COGNIVERSE_OUTPUT_DIR" {
			return dir
		}
		return env[k]
	}
	var stdout, stderr bytes.Buffer
	code := Run(argv, getenv, &stdout, &stderr)
	outputs := map[string]string{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		outputs[e.Name()] = string(b)
	}
	return code, stderr.String(), outputs
}

var optArgs = []string{"run-optimization", "--tenant-id", "acme_corp", "--optimizer-category", "dspy",
	"--optimizer-type", "GEPA", "--dataset-name", "golden_eval_v1", "--profiles", "video_colpali_smol500_mv_frame",
	"--max-iterations", "100", "--learning-rate", "0.001"}

func withArg(argv []string, name, value string) []string {
	out := append([]string{}, argv...)
	for i := range out {
		if out[i] == "--"+name {
			out[i+1] = value
			return out
		}
	}
	return append(out, "--"+name, value)
}

func TestRunOptimizationImprovementSteersTheDeployDecision(t *testing.T) {
	cases := []struct{ iterations, improvement, optimized string }{
		{"100", "10", "0.66"}, // above the default 5 % threshold: deploys
		{"20", "2", "0.612"},  // below it: deploy skipped
		{"15", "1.5", "0.609"},
		{"900", "50", "0.9"}, // capped at 50
	}
	for _, c := range cases {
		code, stderr, out := invoke(t, nil, withArg(optArgs, "max-iterations", c.iterations)...)
		if code != 0 {
			t.Fatalf("max-iterations=%s: exit %d: %s", c.iterations, code, stderr)
		}
		want := map[string]string{"baseline-score": "0.6", "improvement": c.improvement, "optimized-score": c.optimized}
		for k, v := range want {
			if out[k] != v {
				t.Errorf("max-iterations=%s: %s = %q, want %q", c.iterations, k, out[k], v)
			}
		}
	}
}

func TestEvaluateResultsComparesWithTheThreshold(t *testing.T) {
	for imp, want := range map[string]string{"10": "deploy", "5": "deploy", "2": "keep"} {
		_, _, out := invoke(t, nil, "evaluate-results", "--tenant-id", "acme_corp", "--baseline-score", "0.6",
			"--optimized-score", "0.66", "--improvement", imp, "--improvement-threshold", "5")
		if out["recommendation"] != want {
			t.Errorf("improvement %s: recommendation %q, want %q", imp, out["recommendation"], want)
		}
	}
}

func TestCheckAnnotationsReadsTheCountFromTheEnvironment(t *testing.T) {
	argv := []string{"check-annotations", "--tenant-id", "default", "--since", "24h", "--annotation-threshold", "50"}
	_, _, out := invoke(t, nil, argv...)
	if out["annotation-count"] != "60" || out["threshold-met"] != "true" {
		t.Errorf("default: %v", out)
	}
	_, _, out = invoke(t, map[string]string{"SMOKE_ANNOTATION_COUNT": "10"}, argv...)
	if out["annotation-count"] != "10" || out["threshold-met"] != "false" {
		t.Errorf("SMOKE_ANNOTATION_COUNT=10: %v", out)
	}
}

func TestEveryStepOfTheContractRunsWithValidArguments(t *testing.T) {
	valid := map[string]string{
		"tenant-id": "acme_corp", "tenant-name": "Acme Corp", "profiles": "video_colpali_smol500_mv_frame,video_videoprism_base_mv_chunk_30s",
		"video-dir": "/data/videos", "batch-size": "10", "max-workers": "4", "max-iterations": "100",
		"learning-rate": "0.001", "optimizer-category": "routing", "optimizer-type": "modality", "dataset-name": "golden_eval_v1",
		"use-synthetic-data": "true", "expected-documents": "6", "storage-quota": "200Gi", "cpu-quota": "20",
		"memory-quota": "40Gi", "baseline-score": "0.6", "optimized-score": "0.66", "improvement": "10",
		"improvement-threshold": "5", "namespace": "cogniverse-acme-corp", "workflow": "video-ingestion-x7k2p",
		"status": "Succeeded", "backup-dir": "/backups", "backup-id": "daily-backup-1764209000", "retention-days": "7",
		"keep-latest": "1", "report-type": "usage", "period": "2026-11", "since": "168h", "annotation-threshold": "50",
	}
	wantOutputs := map[string][]string{
		"prepare-videos": {"batch-count", "video-count"}, "ingest-videos": {"documents-ingested"},
		"verify-ingestion": {"documents-found"}, "prepare-dataset": {"example-count"},
		"run-optimization": {"baseline-score", "improvement", "optimized-score"}, "evaluate-results": {"recommendation"},
		"deploy-model": {"model-version"}, "deploy-schemas": {"schema-count"}, "create-phoenix-project": {"project"},
		"backup-vespa": {"backup-path"}, "backup-phoenix": {"backup-path"}, "prune-backups": {"pruned-count"},
		"cleanup-logs": {"removed-count"}, "cleanup-temp": {"removed-count"}, "cleanup-databases": {"removed-count"},
		"generate-reports": {"report-path"}, "check-annotations": {"annotation-count", "threshold-met"},
	}
	for _, name := range stepNames() {
		argv := []string{name}
		for _, a := range steps[name].Required {
			argv = append(argv, "--"+a, valid[a])
		}
		code, stderr, out := invoke(t, nil, argv...)
		if code != 0 {
			t.Errorf("%s: exit %d: %s", name, code, stderr)
			continue
		}
		var got []string
		for k, v := range out {
			got = append(got, k)
			if v == "" || strings.HasSuffix(v, "\n") {
				t.Errorf("%s: output %s = %q (must be non-empty, no trailing newline)", name, k, v)
			}
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(wantOutputs[name], ",") {
			t.Errorf("%s: outputs %v, want %v", name, got, wantOutputs[name])
		}
	}
}

func TestVideoIngestionCountsAreConsistent(t *testing.T) {
	base := []string{"--tenant-id", "acme_corp", "--video-dir", "/data/videos", "--profiles", "a_b,c_d", "--batch-size", "2", "--max-workers", "4"}
	_, _, out := invoke(t, nil, append([]string{"ingest-videos"}, base...)...)
	if out["documents-ingested"] != "6" {
		t.Fatalf("documents-ingested = %q", out["documents-ingested"])
	}
	_, _, out = invoke(t, nil, "prepare-videos", "--tenant-id", "acme_corp", "--video-dir", "/data/videos", "--batch-size", "2")
	if out["video-count"] != "3" || out["batch-count"] != "2" {
		t.Fatalf("prepare-videos: %v", out)
	}
	code, stderr, _ := invoke(t, nil, "verify-ingestion", "--tenant-id", "acme_corp", "--profiles", "a_b,c_d", "--expected-documents", "7")
	if code != 1 || !strings.Contains(stderr, "found 6 documents, expected 7") {
		t.Fatalf("verify mismatch: exit %d, %q", code, stderr)
	}
}

func TestInvalidInputExitsTwoWithOneLineNamingTheArgumentAndWritesNothing(t *testing.T) {
	tenant := []string{"validate-tenant", "--tenant-id", "acme_corp", "--tenant-name", "Acme", "--profiles", "p1",
		"--storage-quota", "200Gi", "--cpu-quota", "20", "--memory-quota", "40Gi"}
	cases := []struct {
		argv []string
		want string
	}{
		{withArg(tenant, "tenant-id", "x; rm -rf /"), `--tenant-id "x; rm -rf /"`},
		{withArg(tenant, "tenant-id", "Acme"), `--tenant-id "Acme"`},
		{withArg(tenant, "tenant-id", "acme_"), `--tenant-id "acme_"`},
		{withArg(tenant, "tenant-id", "newcorp-inc"), `--tenant-id "newcorp-inc"`},
		{withArg(tenant, "storage-quota", "lots"), `--storage-quota "lots"`},
		{withArg(tenant, "profiles", "ok,Bad"), `--profiles "ok,Bad": has an invalid profile "Bad"`},
		{withArg(tenant, "profiles", ""), `--profiles "": must be a comma list`},
		{withArg(optArgs, "max-iterations", "0"), `--max-iterations "0": must be a positive integer`},
		{withArg(optArgs, "max-iterations", "ten"), `--max-iterations "ten"`},
		{withArg(optArgs, "learning-rate", "-0.1"), `--learning-rate "-0.1": must be a positive decimal`},
		{withArg(optArgs, "learning-rate", "1e-3"), `--learning-rate "1e-3"`},
		{withArg(optArgs, "optimizer-category", "magic"), `--optimizer-category "magic": must be one of dspy, routing`},
		{withArg(optArgs, "optimizer-type", "modality"), `--optimizer-type "modality": not a dspy optimizer`},
		{withArg(optArgs, "dataset-name", "../etc"), `--dataset-name "../etc"`},
		{[]string{"validate-input", "--tenant-id", "acme_corp", "--video-dir", "/data/../etc", "--profiles", "p", "--batch-size", "1", "--max-workers", "1"}, `--video-dir "/data/../etc": must not contain '..'`},
		{[]string{"validate-input", "--tenant-id", "acme_corp", "--video-dir", "data", "--profiles", "p", "--batch-size", "1", "--max-workers", "1"}, `--video-dir "data": must be an absolute path`},
		{[]string{"validate-input", "--tenant-id", "acme_corp", "--video-dir", "/data/$(id)", "--profiles", "p", "--batch-size", "1", "--max-workers", "1"}, `--video-dir "/data/$(id)"`},
		{[]string{"validate-config", "--tenant-id", "acme_corp", "--optimizer-category", "dspy", "--optimizer-type", "GEPA", "--dataset-name", "d", "--profiles", "p", "--max-iterations", "1", "--learning-rate", "0.1", "--use-synthetic-data", "yes"}, `--use-synthetic-data "yes": must be one of true, false`},
		{[]string{"prune-backups", "--backup-dir", "/backups", "--retention-days", "7", "--keep-latest", "0"}, `--keep-latest "0": must be a positive integer`},
		{[]string{"generate-reports", "--report-type", "usage", "--period", "2026-13"}, `--period "2026-13": must be a month YYYY-MM`},
		{[]string{"no-such-step"}, `unknown step "no-such-step"`},
		{[]string{}, "usage: cogniverse-workflow <step>"},
		{append(withArg(optArgs, "tenant-id", "acme_corp"), "--bogus", "1"), "run-optimization: unknown argument --bogus"},
		{optArgs[:len(optArgs)-2], "run-optimization: missing required argument --learning-rate"},
		{append(optArgs, "--tenant-id", "other"), "--tenant-id: given more than once"},
		{append(optArgs[:1:1], "--tenant-id"), "--tenant-id: missing value"},
		{append(optArgs[:1:1], "tenant-id", "x"), `expected --<name> <value>, got "tenant-id"`},
	}
	for _, c := range cases {
		code, stderr, out := invoke(t, nil, c.argv...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2", c.argv, code)
		}
		if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: stderr %q, want one line containing %q", c.argv, stderr, c.want)
		}
		if len(out) != 0 {
			t.Errorf("%v: wrote outputs %v on invalid input", c.argv, out)
		}
	}
}

func TestTenantNamespaceMapping(t *testing.T) {
	if got := TenantNamespace("newcorp_inc"); got != "cogniverse-newcorp-inc" {
		t.Fatal(got)
	}
	code, stderr, _ := invoke(t, nil, "verify-tenant", "--tenant-id", "newcorp_inc", "--namespace", "cogniverse-newcorp-inc", "--profiles", "p")
	if code != 0 {
		t.Fatal(stderr)
	}
	code, stderr, _ = invoke(t, nil, "verify-tenant", "--tenant-id", "newcorp_inc", "--namespace", "cogniverse-other", "--profiles", "p")
	if code != 1 || !strings.Contains(stderr, "not the tenant's namespace") {
		t.Fatalf("exit %d %q", code, stderr)
	}
}

func TestNotifyCompletionTenantIsOptionalAndFreeText(t *testing.T) {
	for _, argv := range [][]string{
		{"notify-completion", "--workflow", "daily-backup-1764209000", "--status", "Succeeded"},
		{"notify-completion", "--workflow", "tenant-provisioning-abcde", "--status", "Failed", "--tenant-id", "acme_corp"},
		// the failure notice of a run whose tenant id failed validation still goes out
		{"notify-completion", "--workflow", "tenant-provisioning-abcde", "--status", "Failed", "--tenant-id", "x; rm -rf /"},
	} {
		if code, stderr, _ := invoke(t, nil, argv...); code != 0 {
			t.Errorf("%v: exit %d %s", argv, code, stderr)
		}
	}
}
