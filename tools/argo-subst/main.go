// argosubst: substitute input parameters into templates with Argo's own code. stdin: one JSON
// object per line {"template": ..., "parameters": {...}}; stdout: {"manifest": ...} or {"error": ...}.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
)

type request struct {
	Template   wfv1.Template     `json:"template"`
	Parameters map[string]string `json:"parameters"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		var r request
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			panic(err)
		}
		names := make([]string, 0, len(r.Parameters))
		for k := range r.Parameters {
			names = append(names, k)
		}
		sort.Strings(names)
		args := wfv1.Arguments{}
		for _, k := range names {
			args.Parameters = append(args.Parameters, wfv1.Parameter{Name: k, Value: wfv1.AnyStringPtr(r.Parameters[k])})
		}
		out := map[string]string{}
		t, err := common.ProcessArgs(&r.Template, &args, common.Parameters{}, common.Parameters{}, false, "cogniverse", nil)
		if err != nil {
			out["error"] = err.Error()
		} else {
			out["manifest"] = t.Resource.Manifest
		}
		b, _ := json.Marshal(out)
		fmt.Println(string(b))
	}
}
