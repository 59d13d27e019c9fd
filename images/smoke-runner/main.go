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
	"sort"
	"strings"
)

// version is stamped by build.sh (-ldflags -X main.version=...).
var version = "dev"

// UsageError is invalid input: exit 2, one line on stderr.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

func usageErr(format string, a ...any) error { return &UsageError{fmt.Sprintf(format, a...)} }

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
