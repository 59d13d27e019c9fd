package main

// The argument formats of docs/step-contract.md: one validator per argument name (formats), and the
// optimizer catalogue the optimizer-category and optimizer-type arguments are checked against.

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

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
// (charts/cogniverse/files/optimizers.yaml, the one source); tests/chart/test_chart_facts.py fails when they differ.
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
