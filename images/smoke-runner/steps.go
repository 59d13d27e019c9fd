package main

// The steps of docs/step-contract.md: each one's required and optional arguments and the fixed outputs
// the smoke build writes for it.

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Step: its required and optional arguments, and a function computing its outputs.
type Step struct {
	Required []string
	Optional []string
	// Formats overrides the shared argument formats for this step.
	Formats map[string]validator
	Run     func(a map[string]string, env func(string) string) (map[string]string, error)
}

var optimizationArgs = []string{"tenant-id", "optimizer-category", "optimizer-type", "dataset-name", "profiles", "max-iterations", "learning-rate"}

func none(map[string]string, func(string) string) (map[string]string, error) { return nil, nil }

func num(f float64) string {
	s := strconv.FormatFloat(f, 'f', 4, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "" || s == "-0" {
		return "0"
	}
	return s
}

func profileCount(a map[string]string) int { return len(strings.Split(a["profiles"], ",")) }

// Fixed numbers the smoke runner reports.
const (
	smokeVideoCount   = 3
	smokeExampleCount = 50
	smokeBaseline     = 0.60
)

var steps = map[string]Step{
	// video-ingestion
	"validate-input": {Required: []string{"tenant-id", "video-dir", "profiles", "batch-size", "max-workers"}, Run: none},
	"prepare-videos": {Required: []string{"tenant-id", "video-dir", "batch-size"},
		Run: func(a map[string]string, _ func(string) string) (map[string]string, error) {
			bs, _ := strconv.Atoi(a["batch-size"])
			return map[string]string{"video-count": strconv.Itoa(smokeVideoCount),
				"batch-count": strconv.Itoa((smokeVideoCount + bs - 1) / bs)}, nil
		}},
	"ingest-videos": {Required: []string{"tenant-id", "video-dir", "profiles", "batch-size", "max-workers"},
		Run: func(a map[string]string, _ func(string) string) (map[string]string, error) {
			return map[string]string{"documents-ingested": strconv.Itoa(smokeVideoCount * profileCount(a))}, nil
		}},
	"verify-ingestion": {Required: []string{"tenant-id", "profiles", "expected-documents"},
		Run: func(a map[string]string, _ func(string) string) (map[string]string, error) {
			found := smokeVideoCount * profileCount(a)
			if exp, _ := strconv.Atoi(a["expected-documents"]); exp != found {
				return nil, fmt.Errorf("verify-ingestion: found %d documents, expected %d", found, exp)
			}
			return map[string]string{"documents-found": strconv.Itoa(found)}, nil
		}},
	// The exit handler reports whatever the run was given: a tenant id that failed validation is
	// still named in the failure notice (it is only text here, never a name of anything).
	"notify-completion": {Required: []string{"workflow", "status"}, Optional: []string{"tenant-id"},
		Formats: map[string]validator{"tenant-id": freeText}, Run: none},

	// batch-optimization
	"validate-config": {Required: []string{"tenant-id", "optimizer-category", "optimizer-type", "dataset-name", "profiles", "max-iterations", "learning-rate", "use-synthetic-data"}, Run: none},
	"prepare-dataset": {Required: []string{"tenant-id", "optimizer-category", "dataset-name", "use-synthetic-data"},
		Run: func(a map[string]string, _ func(string) string) (map[string]string, error) {
			n := smokeExampleCount
			if a["use-synthetic-data"] == "true" {
				n *= 2
			}
			return map[string]string{"example-count": strconv.Itoa(n)}, nil
		}},
	"run-optimization": {Required: optimizationArgs, Run: runOptimization},
	"evaluate-results": {Required: []string{"tenant-id", "baseline-score", "optimized-score", "improvement", "improvement-threshold"},
		Run: func(a map[string]string, _ func(string) string) (map[string]string, error) {
			imp, _ := strconv.ParseFloat(a["improvement"], 64)
			thr, _ := strconv.ParseFloat(a["improvement-threshold"], 64)
			rec := "keep"
			if imp >= thr {
				rec = "deploy"
			}
			return map[string]string{"recommendation": rec}, nil
		}},
	"deploy-model": {Required: []string{"tenant-id", "optimizer-category", "optimizer-type", "improvement"},
		Run: func(a map[string]string, _ func(string) string) (map[string]string, error) {
			return map[string]string{"model-version": strings.ToLower(a["optimizer-category"]+"-"+a["optimizer-type"]) + "-smoke-1"}, nil
		}},

	// tenant-provisioning
	// validate-tenant checks everything that later reaches a manifest and hands exactly that on as
	// outputs: the resource steps take their values only from here.
	"validate-tenant": {Required: []string{"tenant-id", "tenant-name", "profiles", "storage-quota", "cpu-quota", "memory-quota"},
		Optional: []string{"release-namespace", "max-tenants", "release-id"}, Run: validateTenant},
	"deploy-schemas": {Required: []string{"tenant-id", "profiles"},
		Run: func(a map[string]string, _ func(string) string) (map[string]string, error) {
			return map[string]string{"schema-count": strconv.Itoa(profileCount(a))}, nil
		}},
	// With PHOENIX_URL set, through Phoenix's REST API (phoenix.go).
	"create-phoenix-project": {Required: []string{"tenant-id", "tenant-name"}, Run: createPhoenixProject},
	"initialize-memory":      {Required: []string{"tenant-id"}, Run: none},
	"verify-tenant": {Required: []string{"tenant-id", "namespace", "profiles"},
		Run: func(a map[string]string, env func(string) string) (map[string]string, error) {
			if want := TenantNamespace(a["tenant-id"]); a["namespace"] != want {
				return nil, fmt.Errorf("verify-tenant: namespace %q is not the tenant's namespace %q", a["namespace"], want)
			}
			// With PHOENIX_URL set, the tenant's Phoenix project must be there (phoenix.go).
			return nil, checkPhoenixProject(a["tenant-id"], env)
		}},

	// scheduled
	// backups.go, restore.go. backup-phoenix here is the stand-in: with Phoenix on SQLite the chart
	// runs backup-phoenix and restore-phoenix in the Phoenix image (charts/cogniverse/files/phoenix-backup.py).
	"backup-vespa":   {Required: []string{"backup-dir", "backup-id"}, Run: backup("vespa", vespaExport)},
	"backup-phoenix": {Required: []string{"backup-dir", "backup-id"}, Run: backup("phoenix", standIn("phoenix"))},
	// restore: verify-backup resolves `latest` and refuses an incomplete or corrupted backup before anything changes.
	"verify-backup":   {Required: []string{"backup-dir", "backup-id", "components"}, Run: verifyBackup},
	"restore-vespa":   {Required: []string{"backup-dir", "backup-id"}, Run: restoreVespa},
	"restore-phoenix": {Required: []string{"backup-dir", "backup-id"}, Run: restorePhoenixStandIn},
	"scale-phoenix":   {Required: []string{"deployment", "replicas"}, Run: scalePhoenix},
	// backup-id and components are optional only so that a chart from before the completion markers
	// still runs against this image; the chart passes both.
	"prune-backups": {Required: []string{"backup-dir", "retention-days", "keep-latest"}, Optional: []string{"backup-id", "components"},
		Run: func(a map[string]string, env func(string) string) (map[string]string, error) {
			return Prune(a, env, time.Now())
		}},
	"cleanup-logs":      {Required: []string{"retention-days"}, Run: fixed("removed-count", "0")},
	"cleanup-temp":      {Required: []string{"retention-days"}, Run: fixed("removed-count", "0")},
	"cleanup-databases": {Required: []string{"retention-days"}, Run: fixed("removed-count", "0")},
	"generate-reports": {Required: []string{"report-type", "period"},
		Run: func(a map[string]string, _ func(string) string) (map[string]string, error) {
			return map[string]string{"report-path": "/tmp/reports/" + a["report-type"] + "-" + a["period"] + ".json"}, nil
		}},
	"check-annotations": {Required: []string{"tenant-id", "since", "annotation-threshold"}, Run: checkAnnotations},

	// deadline-watchdog: through the Kubernetes API, with the pod's ServiceAccount (deadlines.go).
	"enforce-deadlines": {Required: []string{"selector", "terminate-after-seconds"}, Run: enforceDeadlines},
}

func fixed(name, value string) func(map[string]string, func(string) string) (map[string]string, error) {
	return func(map[string]string, func(string) string) (map[string]string, error) {
		return map[string]string{name: value}, nil
	}
}

func validateTenant(a map[string]string, env func(string) string) (map[string]string, error) {
	ns := TenantNamespace(a["tenant-id"])
	if rel := a["release-namespace"]; rel != "" && ns == rel {
		return nil, usageErr("--tenant-id %q: its namespace %s is the release namespace; choose another tenant id (or install the release elsewhere)", a["tenant-id"], ns)
	}
	if a["max-tenants"] != "" { // tenants.go
		if err := checkTenantLimit(env, a["release-id"], ns, a["max-tenants"]); err != nil {
			return nil, err
		}
	}
	out := map[string]string{"tenant-id": a["tenant-id"], "namespace": ns}
	for _, q := range []string{"storage-quota", "cpu-quota", "memory-quota"} {
		out[q] = a[q]
	}
	return out, nil
}

// Improvement reported for max-iterations: max-iterations / 10, capped at 50 (percent).
func Improvement(maxIterations int) float64 {
	imp := float64(maxIterations) / 10
	if imp > 50 {
		imp = 50
	}
	return imp
}

func runOptimization(a map[string]string, _ func(string) string) (map[string]string, error) {
	it, _ := strconv.Atoi(a["max-iterations"])
	imp := Improvement(it)
	return map[string]string{
		"baseline-score":  num(smokeBaseline),
		"optimized-score": num(smokeBaseline * (1 + imp/100)),
		"improvement":     num(imp),
	}, nil
}

func checkAnnotations(a map[string]string, env func(string) string) (map[string]string, error) {
	count := 60
	if v := env("SMOKE_ANNOTATION_COUNT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, usageErr("SMOKE_ANNOTATION_COUNT: must be a non-negative integer, got %q", v)
		}
		count = n
	}
	thr, _ := strconv.Atoi(a["annotation-threshold"])
	return map[string]string{"annotation-count": strconv.Itoa(count), "threshold-met": strconv.FormatBool(count >= thr)}, nil
}

// TenantNamespace maps a tenant id to its namespace: cogniverse-<id with _ as ->.
func TenantNamespace(tenantID string) string {
	return "cogniverse-" + strings.ReplaceAll(tenantID, "_", "-")
}
