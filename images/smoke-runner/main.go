// Command cogniverse-workflow (smoke build) implements the workflow step contract of
// docs/step-contract.md without doing any real work: it validates its arguments exactly as the
// contract says and writes fixed, documented outputs so the smoke tests can steer the workflows.
//
//	cogniverse-workflow <step> --<name> <value> [--<name> <value> ...]
//
// Exit codes: 0 success, 2 invalid input (one line on stderr naming the argument, nothing
// written), 1 any other failure.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// version is stamped by build.sh (-ldflags -X main.version=...).
var version = "dev"

// UsageError is invalid input: exit 2, one line on stderr.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

func usageErr(format string, a ...any) error { return &UsageError{fmt.Sprintf(format, a...)} }

// ---- argument formats ---------------------------------------------------------------------------

var (
	reTenantID   = regexp.MustCompile(`^[a-z][a-z0-9_]{1,46}[a-z0-9]$`)
	reProfile    = regexp.MustCompile(`^[a-z0-9][a-z0-9_]{0,62}$`)
	rePathChars  = regexp.MustCompile(`^[A-Za-z0-9_./-]+$`)
	reDataset    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)
	reDecimal    = regexp.MustCompile(`^-?([0-9]+(\.[0-9]+)?|\.[0-9]+)$`)
	reQuantity   = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$`)
	reDNSLabel   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	reObjectName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)
	reBackupID   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)
	rePeriod     = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)
	reSince      = regexp.MustCompile(`^[1-9][0-9]*[hm]$`)
	// One equality term of a label selector: [prefix/]name=value (Kubernetes label syntax).
	reSelectorTerm = regexp.MustCompile(`^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?=([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$`)
)

// Optimizer types per category: a copy of the chart's optimizer catalogue
// (charts/cogniverse/files/optimizers.yaml, the one source); tests/test_chart_facts.py fails when they differ.
var optimizerTypes = map[string][]string{
	"dspy":    {"GEPA", "Bootstrap", "SIMBA", "MIPRO"},
	"routing": {"modality", "cross_modal", "routing", "workflow", "unified"},
}

// optimizerCategories: the catalogue's categories in name order.
func optimizerCategories() []string { return sortedKeys(optimizerTypes) }

// allOptimizerTypes: every type of the catalogue, categories in name order.
func allOptimizerTypes() []string {
	var types []string
	for _, c := range optimizerCategories() {
		types = append(types, optimizerTypes[c]...)
	}
	return types
}

type validator func(v string) string // returns "" when valid, else what is wrong

func matches(re *regexp.Regexp, what string) validator {
	return func(v string) string {
		if !re.MatchString(v) {
			return "must be " + what
		}
		return ""
	}
}

func oneOf(choices ...string) validator {
	return func(v string) string {
		for _, c := range choices {
			if v == c {
				return ""
			}
		}
		return "must be one of " + strings.Join(choices, ", ")
	}
}

func intAtLeast(min int) validator {
	return func(v string) string {
		n, err := strconv.Atoi(v)
		if err != nil || n < min || strings.HasPrefix(v, "+") {
			if min == 1 {
				return "must be a positive integer"
			}
			return fmt.Sprintf("must be an integer >= %d", min)
		}
		return ""
	}
}

func decimal(positive, nonNegative bool) validator {
	return func(v string) string {
		f, err := strconv.ParseFloat(v, 64)
		switch {
		case !reDecimal.MatchString(v) || err != nil:
			return "must be a decimal number like 12.5"
		case positive && f <= 0:
			return "must be a positive decimal"
		case nonNegative && f < 0:
			return "must not be negative"
		}
		return ""
	}
}

func profiles(v string) string {
	if v == "" {
		return "must be a comma list of profile names"
	}
	for _, p := range strings.Split(v, ",") {
		if !reProfile.MatchString(p) {
			return fmt.Sprintf("has an invalid profile %q (lowercase letters, digits and _, at most 63)", p)
		}
	}
	return ""
}

func absPath(v string) string {
	if !strings.HasPrefix(v, "/") || !rePathChars.MatchString(v) {
		return "must be an absolute path of characters [A-Za-z0-9_./-]"
	}
	for _, part := range strings.Split(v, "/") {
		if part == ".." {
			return "must not contain '..'"
		}
	}
	return ""
}

// BackupsMount is where the backups volume is mounted; backup-dir must be it or a folder under it.
const BackupsMount = "/backups"

func backupDir(v string) string {
	if problem := absPath(v); problem != "" {
		return problem
	}
	clean := filepath.Clean(v)
	if clean != BackupsMount && !strings.HasPrefix(clean, BackupsMount+"/") {
		return "must be " + BackupsMount + " or a folder under it (the mounted backups volume); elsewhere backups vanish with the pod"
	}
	return ""
}

func components(v string) string {
	if v == "" {
		return "must be a comma list of components like vespa,phoenix"
	}
	for _, c := range strings.Split(v, ",") {
		if !reDNSLabel.MatchString(c) {
			return fmt.Sprintf("has an invalid component %q", c)
		}
	}
	return ""
}

// labelSelector: a comma list of key=value label terms (no set-based terms, no spaces).
func labelSelector(v string) string {
	for _, term := range strings.Split(v, ",") {
		if !reSelectorTerm.MatchString(term) {
			return "must be a label selector of key=value terms joined by commas, like app.kubernetes.io/instance=cogniverse"
		}
	}
	return ""
}

func freeText(v string) string {
	if strings.TrimSpace(v) == "" || len(v) > 256 {
		return "must be non-empty text of at most 256 characters"
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return "must not contain control characters"
		}
	}
	return ""
}

// formats: every argument name any step accepts, with its format.
var formats = map[string]validator{
	"tenant-id":               matches(reTenantID, "lowercase letters, digits and _ (3 to 48, starting with a letter), like acme_corp"),
	"tenant-name":             freeText,
	"profiles":                profiles,
	"video-dir":               absPath,
	"batch-size":              intAtLeast(1),
	"max-workers":             intAtLeast(1),
	"max-iterations":          intAtLeast(1),
	"learning-rate":           decimal(true, false),
	"optimizer-category":      oneOf(optimizerCategories()...),
	"optimizer-type":          oneOf(allOptimizerTypes()...),
	"dataset-name":            matches(reDataset, "a dataset name like golden_eval_v1"),
	"use-synthetic-data":      oneOf("true", "false"),
	"expected-documents":      intAtLeast(0),
	"storage-quota":           matches(reQuantity, "a Kubernetes quantity like 200Gi"),
	"cpu-quota":               matches(reQuantity, "a Kubernetes quantity like 20"),
	"memory-quota":            matches(reQuantity, "a Kubernetes quantity like 40Gi"),
	"baseline-score":          decimal(false, false),
	"optimized-score":         decimal(false, false),
	"improvement":             decimal(false, false),
	"improvement-threshold":   decimal(false, true),
	"namespace":               matches(reDNSLabel, "a namespace name"),
	"workflow":                matches(reObjectName, "a workflow name"),
	"status":                  oneOf("Succeeded", "Failed", "Error", "Running", "Pending"),
	"backup-dir":              backupDir,
	"backup-id":               matches(reBackupID, "a backup id of [A-Za-z0-9_.:-]"),
	"components":              components,
	"release-namespace":       matches(reDNSLabel, "a namespace name"),
	"retention-days":          intAtLeast(1),
	"keep-latest":             intAtLeast(1),
	"report-type":             oneOf("usage", "performance"),
	"period":                  matches(rePeriod, "a month YYYY-MM"),
	"since":                   matches(reSince, "a duration in hours or minutes like 24h"),
	"annotation-threshold":    intAtLeast(0),
	"selector":                labelSelector,
	"terminate-after-seconds": intAtLeast(0),
	"max-tenants":             intAtLeast(1),
	"release-id":              matches(regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`), "a label value (the release's cogniverse.dev/release)"),
	"deployment":              matches(reDNSLabel, "a Deployment name"),
	"replicas":                oneOf("0", "1"),
}

// ---- steps --------------------------------------------------------------------------------------

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

// ---- parsing and running ------------------------------------------------------------------------

// Parse checks argv (without the program name) against the contract.
func Parse(argv []string) (string, Step, map[string]string, error) {
	if len(argv) == 0 {
		return "", Step{}, nil, usageErr("usage: cogniverse-workflow <step> --<name> <value> ... (steps: %s)", strings.Join(stepNames(), ", "))
	}
	name := argv[0]
	step, ok := steps[name]
	if !ok {
		return "", Step{}, nil, usageErr("unknown step %q (steps: %s)", name, strings.Join(stepNames(), ", "))
	}
	allowed := map[string]bool{}
	for _, n := range append(append([]string{}, step.Required...), step.Optional...) {
		allowed[n] = true
	}
	args := map[string]string{}
	rest := argv[1:]
	for i := 0; i < len(rest); i += 2 {
		flag := rest[i]
		if !strings.HasPrefix(flag, "--") || len(flag) < 3 {
			return "", Step{}, nil, usageErr("%s: expected --<name> <value>, got %q", name, flag)
		}
		arg := flag[2:]
		if !allowed[arg] {
			return "", Step{}, nil, usageErr("%s: unknown argument --%s (accepted: --%s)", name, arg, strings.Join(sortedKeys(allowed), ", --"))
		}
		if i+1 >= len(rest) {
			return "", Step{}, nil, usageErr("--%s: missing value", arg)
		}
		if _, dup := args[arg]; dup {
			return "", Step{}, nil, usageErr("--%s: given more than once", arg)
		}
		args[arg] = rest[i+1]
	}
	for _, req := range step.Required {
		if _, ok := args[req]; !ok {
			return "", Step{}, nil, usageErr("%s: missing required argument --%s", name, req)
		}
	}
	for _, arg := range sortedArgs(step, args) {
		check := formats[arg]
		if override, ok := step.Formats[arg]; ok {
			check = override
		}
		if problem := check(args[arg]); problem != "" {
			return "", Step{}, nil, usageErr("--%s %q: %s", arg, args[arg], problem)
		}
	}
	if cat, typ := args["optimizer-category"], args["optimizer-type"]; cat != "" && typ != "" {
		ok := false
		for _, t := range optimizerTypes[cat] {
			ok = ok || t == typ
		}
		if !ok {
			return "", Step{}, nil, usageErr("--optimizer-type %q: not a %s optimizer (%s)", typ, cat, strings.Join(optimizerTypes[cat], ", "))
		}
	}
	return name, step, args, nil
}

// sortedArgs: the given arguments in the step's declared order (stable error messages).
func sortedArgs(step Step, args map[string]string) []string {
	var out []string
	for _, n := range append(append([]string{}, step.Required...), step.Optional...) {
		if _, ok := args[n]; ok {
			out = append(out, n)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func stepNames() []string { return sortedKeys(steps) }

// Run executes one invocation and returns the exit code.
func Run(argv []string, env func(string) string, stdout, stderr io.Writer) int {
	if len(argv) == 1 && (argv[0] == "--version" || argv[0] == "version") {
		fmt.Fprintf(stdout, "cogniverse-workflow smoke-runner %s\n", version)
		return 0
	}
	if len(argv) == 1 && argv[0] == "--contract" {
		return printContract(stdout)
	}
	name, step, args, err := Parse(argv)
	if err == nil {
		var outputs map[string]string
		outputs, err = step.Run(args, env)
		if err == nil {
			err = writeOutputs(env, outputs)
		}
		if err == nil {
			fmt.Fprintf(stdout, "smoke-runner %s: %s ok%s\n", version, name, describe(outputs))
			return 0
		}
	}
	fmt.Fprintln(stderr, "cogniverse-workflow: "+strings.ReplaceAll(err.Error(), "\n", " "))
	if _, usage := err.(*UsageError); usage {
		return 2
	}
	return 1
}

// printContract writes {step: {"required": [...], "optional": [...]}} as JSON: lets tests check
// that the chart's workflows call every step with the arguments the runner accepts.
func printContract(w io.Writer) int {
	type entry struct {
		Required []string `json:"required"`
		Optional []string `json:"optional"`
	}
	out := map[string]entry{}
	for name, s := range steps {
		out[name] = entry{Required: s.Required, Optional: append([]string{}, s.Optional...)}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return 1
	}
	return 0
}

func describe(outputs map[string]string) string {
	if len(outputs) == 0 {
		return ""
	}
	keys := make([]string, 0, len(outputs))
	for k := range outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, outputs[k])
	}
	return ":" + b.String()
}

func writeOutputs(env func(string) string, outputs map[string]string) error {
	if len(outputs) == 0 {
		return nil
	}
	dir := env("COGNIVERSE_OUTPUT_DIR")
	if dir == "" {
		dir = "/tmp/outputs"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create output directory: %w", err)
	}
	for name, value := range outputs {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0o644); err != nil {
			return fmt.Errorf("cannot write output %s: %w", name, err)
		}
	}
	return nil
}

func main() {
	os.Exit(Run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
