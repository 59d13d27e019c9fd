package main

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
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
		"components": "vespa,phoenix", "release-namespace": "cogniverse",
	}
	env := map[string]string{"COGNIVERSE_BACKUPS_MOUNT": t.TempDir()}
	wantOutputs := map[string][]string{
		"prepare-videos": {"batch-count", "video-count"}, "ingest-videos": {"documents-ingested"},
		"verify-ingestion": {"documents-found"}, "prepare-dataset": {"example-count"},
		"run-optimization": {"baseline-score", "improvement", "optimized-score"}, "evaluate-results": {"recommendation"},
		"deploy-model": {"model-version"}, "deploy-schemas": {"schema-count"}, "create-phoenix-project": {"project"},
		"backup-vespa": {"backup-path"}, "backup-phoenix": {"backup-path"}, "prune-backups": {"kept-count", "pruned-count"},
		"validate-tenant": {"cpu-quota", "memory-quota", "namespace", "storage-quota", "tenant-id"},
		"cleanup-logs":    {"removed-count"}, "cleanup-temp": {"removed-count"}, "cleanup-databases": {"removed-count"},
		"generate-reports": {"report-path"}, "check-annotations": {"annotation-count", "threshold-met"},
		"verify-backup": {"backup-id", "phoenix", "vespa"}, "restore-vespa": {"restored-count"}, "restore-phoenix": {"restored-id"},
	}
	for _, name := range stepNames() {
		if name == "enforce-deadlines" || name == "scale-phoenix" {
			continue // need the Kubernetes API: deadlines_test.go, backups_test.go
		}
		argv := []string{name}
		for _, a := range steps[name].Required {
			argv = append(argv, "--"+a, valid[a])
		}
		code, stderr, out := invoke(t, env, argv...) // sorted: both backups run before prune-backups
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
		{[]string{"prune-backups", "--backup-dir", "/backups", "--retention-days", "7", "--keep-latest", "0", "--backup-id", "b", "--components", "vespa"}, `--keep-latest "0": must be a positive integer`},
		{[]string{"backup-vespa", "--backup-dir", "/tmp", "--backup-id", "b"}, `--backup-dir "/tmp": must be /backups or a folder under it`},
		{[]string{"backup-vespa", "--backup-dir", "/", "--backup-id", "b"}, `--backup-dir "/": must be /backups or a folder under it`},
		{[]string{"backup-vespa", "--backup-dir", "/backupsx", "--backup-id", "b"}, `--backup-dir "/backupsx": must be /backups or a folder under it`},
		{[]string{"backup-vespa", "--backup-dir", "/backups/../etc", "--backup-id", "b"}, `--backup-dir "/backups/../etc": must not contain '..'`},
		{append(append([]string{}, tenant...), "--release-namespace", "cogniverse-acme-corp"), `--tenant-id "acme_corp": its namespace cogniverse-acme-corp is the release namespace`},
		{withArg(tenant, "tenant-id", "acme\nnamespace: kube-system"), `--tenant-id "acme\nnamespace: kube-system"`},
		{withArg(tenant, "cpu-quota", "1\nnamespace: kube-system"), `--cpu-quota`},
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

func TestValidateTenantHandsOnOnlyCheckedValues(t *testing.T) {
	code, stderr, out := invoke(t, nil, "validate-tenant", "--tenant-id", "newcorp_inc", "--tenant-name", "New: Corp\"", "--profiles", "p1",
		"--storage-quota", "200Gi", "--cpu-quota", "20", "--memory-quota", "40Gi", "--release-namespace", "cogniverse")
	if code != 0 {
		t.Fatal(stderr)
	}
	want := map[string]string{"tenant-id": "newcorp_inc", "namespace": "cogniverse-newcorp-inc", "storage-quota": "200Gi",
		"cpu-quota": "20", "memory-quota": "40Gi"}
	if len(out) != len(want) {
		t.Fatalf("outputs %v, want %v (tenant-name is free text and never an output)", out, want)
	}
	for k, v := range want {
		if out[k] != v {
			t.Errorf("%s = %q, want %q", k, out[k], v)
		}
	}
}

// backupsEnv runs the backup steps against a temporary folder standing for the /backups volume.
func backupsEnv(t *testing.T) (map[string]string, string) {
	root := t.TempDir()
	return map[string]string{"COGNIVERSE_BACKUPS_MOUNT": root}, root
}

func runBackup(t *testing.T, env map[string]string, id string, comps ...string) {
	t.Helper()
	for _, c := range comps {
		if code, stderr, _ := invoke(t, env, "backup-"+c, "--backup-dir", "/backups", "--backup-id", id); code != 0 {
			t.Fatalf("backup-%s %s: exit %d %s", c, id, code, stderr)
		}
	}
}

func age(t *testing.T, root, id string, days int) {
	t.Helper()
	old := time.Now().Add(-time.Duration(days) * 24 * time.Hour)
	_ = filepath.Walk(filepath.Join(root, id), func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			err = os.Chtimes(p, old, old)
		}
		return err
	})
}

func prune(t *testing.T, env map[string]string, id string, keep string) (int, string, map[string]string) {
	return invoke(t, env, "prune-backups", "--backup-dir", "/backups", "--retention-days", "7", "--keep-latest", keep,
		"--backup-id", id, "--components", "vespa,phoenix")
}

func exists(root, rel string) bool {
	_, err := os.Stat(filepath.Join(root, rel))
	return err == nil
}

func TestBackupWritesDataThenTheCompletionMarkerLast(t *testing.T) {
	env, root := backupsEnv(t)
	runBackup(t, env, "daily-backup-1", "vespa", "phoenix")
	for _, rel := range []string{"daily-backup-1/.cogniverse-backup", "daily-backup-1/vespa/data.json", "daily-backup-1/vespa.complete",
		"daily-backup-1/phoenix/data.json", "daily-backup-1/phoenix.complete"} {
		if !exists(root, rel) {
			t.Errorf("%s missing", rel)
		}
	}
	markers, _ := os.Stat(filepath.Join(root, "daily-backup-1/vespa.complete"))
	data, _ := os.Stat(filepath.Join(root, "daily-backup-1/vespa/data.json"))
	if markers.ModTime().Before(data.ModTime()) {
		t.Error("the marker was written before the data")
	}
}

func TestPruneKeepsTheNewestCompleteBackupsWhateverTheirAge(t *testing.T) {
	env, root := backupsEnv(t)
	runBackup(t, env, "old-complete", "vespa", "phoenix")
	age(t, root, "old-complete", 30)
	runBackup(t, env, "older-complete", "vespa", "phoenix")
	age(t, root, "older-complete", 40)
	runBackup(t, env, "old-incomplete", "vespa") // phoenix failed: no phoenix.complete
	age(t, root, "old-incomplete", 20)
	if err := os.MkdirAll(filepath.Join(root, "lost+found"), 0o755); err != nil { // not a backup: never touched
		t.Fatal(err)
	}
	age(t, root, "lost+found", 90)
	runBackup(t, env, "today", "vespa", "phoenix")

	code, stderr, out := prune(t, env, "today", "2")
	if code != 0 {
		t.Fatal(stderr)
	}
	// keep-latest 2: today and old-complete (newest complete); older-complete and old-incomplete are past retention
	if out["pruned-count"] != "2" {
		t.Errorf("pruned %s, want 2", out["pruned-count"])
	}
	for rel, want := range map[string]bool{"today": true, "old-complete": true, "older-complete": false, "old-incomplete": false, "lost+found": true} {
		if exists(root, rel) != want {
			t.Errorf("%s exists=%v, want %v", rel, !want, want)
		}
	}
}

func TestPruneWithAnIncompleteCurrentBackupDeletesNothing(t *testing.T) {
	env, root := backupsEnv(t)
	runBackup(t, env, "last-good", "vespa", "phoenix")
	age(t, root, "last-good", 30)
	runBackup(t, env, "today", "vespa")
	code, stderr, _ := prune(t, env, "today", "1")
	if code != 1 || !strings.Contains(stderr, "backup today is not complete") || !strings.Contains(stderr, "nothing pruned") {
		t.Fatalf("exit %d %q", code, stderr)
	}
	if !exists(root, "last-good/vespa.complete") {
		t.Fatal("the last complete backup was deleted")
	}
}

func TestPruneNeverDeletesTheOnlyCompleteBackupEvenWhenOld(t *testing.T) {
	env, root := backupsEnv(t)
	runBackup(t, env, "only", "vespa", "phoenix")
	age(t, root, "only", 365)
	// the current run's id is "only" again (a re-run): still kept by keep-latest
	if code, stderr, out := prune(t, env, "only", "1"); code != 0 || out["pruned-count"] != "0" {
		t.Fatalf("exit %d %q %v", code, stderr, out)
	}
	if !exists(root, "only/phoenix.complete") {
		t.Fatal("deleted")
	}
}
