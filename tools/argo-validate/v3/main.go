// argo-validate (Argo Workflows 3.x): run Argo's own workflow/validate package over many cases in
// one process. Input on stdin: one JSON object per line, {"id": "...", "objects": [manifest, ...]};
// each case is its own stream (its WorkflowTemplates and ClusterWorkflowTemplates resolve the
// templateRefs of the others). An optional "validate": [i, ...] limits which objects are validated
// (the rest only serve as the library templateRefs resolve against); default: all. Output on stdout: one JSON line per case,
// {"id": "...", "results": [{"kind": "...", "name": "...", "error": "..."}]}; error "" means accepted.
// Objects are decoded strictly (unknown fields and wrong types are errors), as `argo lint` does.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/sirupsen/logrus"
	"sigs.k8s.io/yaml"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/validate"
)

type input struct {
	ID       string            `json:"id"`
	Objects  []json.RawMessage `json:"objects"`
	Validate []int             `json:"validate"`
}

type result struct {
	Kind  string `json:"kind"`
	Name  string `json:"name"`
	Error string `json:"error"`
}

type output struct {
	ID      string   `json:"id"`
	Results []result `json:"results"`
}

type nsGetter map[string]*wfv1.WorkflowTemplate

func (g nsGetter) Get(name string) (*wfv1.WorkflowTemplate, error) {
	if t, ok := g[name]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("workflowtemplate %q not found", name)
}

type clusterGetter map[string]*wfv1.ClusterWorkflowTemplate

func (g clusterGetter) Get(name string) (*wfv1.ClusterWorkflowTemplate, error) {
	if t, ok := g[name]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("clusterworkflowtemplate %q not found", name)
}

func validateOne(kind string, raw []byte, g nsGetter, cg clusterGetter) (name string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("validator panic: %v", r)
		}
	}()
	switch kind {
	case "WorkflowTemplate":
		var t wfv1.WorkflowTemplate
		if err := yaml.UnmarshalStrict(raw, &t); err != nil {
			return "", fmt.Errorf("decode: %w", err)
		}
		return t.Name, validate.ValidateWorkflowTemplate(g, cg, &t, nil, validate.ValidateOpts{Lint: true})
	case "ClusterWorkflowTemplate":
		var t wfv1.ClusterWorkflowTemplate
		if err := yaml.UnmarshalStrict(raw, &t); err != nil {
			return "", fmt.Errorf("decode: %w", err)
		}
		return t.Name, validate.ValidateClusterWorkflowTemplate(g, cg, &t, nil, validate.ValidateOpts{Lint: true})
	case "CronWorkflow":
		var c wfv1.CronWorkflow
		if err := yaml.UnmarshalStrict(raw, &c); err != nil {
			return "", fmt.Errorf("decode: %w", err)
		}
		return c.Name, validate.ValidateCronWorkflow(context.Background(), g, cg, &c, nil)
	case "Workflow":
		var w wfv1.Workflow
		if err := yaml.UnmarshalStrict(raw, &w); err != nil {
			return "", fmt.Errorf("decode: %w", err)
		}
		return w.GenerateName + w.Name, validate.ValidateWorkflow(g, cg, &w, nil, validate.ValidateOpts{Lint: true})
	}
	return "", nil
}

func runCase(in input) output {
	g, cg := nsGetter{}, clusterGetter{}
	kinds := make([]string, len(in.Objects))
	for i, raw := range in.Objects {
		var meta struct{ Kind string }
		_ = json.Unmarshal(raw, &meta)
		kinds[i] = meta.Kind
		switch meta.Kind {
		case "WorkflowTemplate":
			var t wfv1.WorkflowTemplate
			if yaml.Unmarshal(raw, &t) == nil {
				g[t.Name] = &t
			}
		case "ClusterWorkflowTemplate":
			var t wfv1.ClusterWorkflowTemplate
			if yaml.Unmarshal(raw, &t) == nil {
				cg[t.Name] = &t
			}
		}
	}
	out := output{ID: in.ID, Results: []result{}}
	selected := in.Validate
	if selected == nil {
		for i := range in.Objects {
			selected = append(selected, i)
		}
	}
	for _, i := range selected {
		if i < 0 || i >= len(in.Objects) {
			continue
		}
		raw := in.Objects[i]
		name, err := validateOne(kinds[i], raw, g, cg)
		r := result{Kind: kinds[i], Name: name}
		if err != nil {
			r.Error = err.Error()
		}
		out.Results = append(out.Results, r)
	}
	return out
}

func main() {
	logrus.SetOutput(io.Discard)
	reader := bufio.NewReaderSize(os.Stdin, 1<<20)
	writer := bufio.NewWriter(os.Stdout)
	defer writer.Flush()
	enc := json.NewEncoder(writer)
	for {
		line, err := reader.ReadBytes('\n')
		if len(line) > 1 {
			var in input
			if jerr := json.Unmarshal(line, &in); jerr != nil {
				fmt.Fprintf(os.Stderr, "argo-validate: bad input line: %v\n", jerr)
				os.Exit(2)
			}
			if eerr := enc.Encode(runCase(in)); eerr != nil {
				os.Exit(2)
			}
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "argo-validate: %v\n", err)
			os.Exit(2)
		}
	}
}
