// vapeval: evaluate a ValidatingAdmissionPolicy (argv[1], YAML) on admission requests (stdin, one
// JSON object per line) with k8s.io/apiserver's own VAP code. One output line per request:
// "ALLOW <id>" or "DENY <id>: <message> | <message>".
// A request line may be as long as the API server lets a request be (maxLine); a longer or unreadable
// line, or one that is not a request, ends the run with exit 2 and a message on stderr, never a
// silently shorter answer.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	v1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/cel/environment"
	"sigs.k8s.io/yaml"
)

type request struct {
	ID        string                 `json:"id"`
	Operation string                 `json:"operation"`
	Resource  string                 `json:"resource"`
	User      string                 `json:"user"`
	Object    map[string]interface{} `json:"object"`
	OldObject map[string]interface{} `json:"oldObject"`
	Namespace *corev1.Namespace      `json:"namespaceObject"`
	// Optional: the requester's groups, a subresource (token, ephemeralcontainers), the request's
	// name and namespace when they are not the object's (a TokenRequest names its ServiceAccount).
	Groups      []string `json:"groups"`
	SubResource string   `json:"subResource"`
	Name        string   `json:"name"`
	InNamespace string   `json:"namespace"`
}

// maxLine: the API server refuses request bodies over 3 MiB (apiserver's MaxRequestBodyBytes); an UPDATE's
// line carries the object and the old object, each up to that size, plus the request's own fields.
const maxLine = 2*(3<<20) + (1 << 20)

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "vap-eval: "+format+"\n", a...)
	os.Exit(2)
}

func obj(m map[string]interface{}) runtime.Object {
	if m == nil {
		return nil
	}
	return &unstructured.Unstructured{Object: m}
}

func main() {
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	p := &v1.ValidatingAdmissionPolicy{}
	if err := yaml.UnmarshalStrict(raw, p); err != nil {
		panic(err)
	}
	opt := cel.OptionalVariableDeclarations{HasParams: false, HasAuthorizer: true}
	msgOpt := cel.OptionalVariableDeclarations{HasParams: false, HasAuthorizer: false}
	comp, err := cel.NewCompositedCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	if err != nil {
		panic(err)
	}
	var vars []cel.NamedExpressionAccessor
	for _, v := range p.Spec.Variables {
		vars = append(vars, &validating.Variable{Name: v.Name, Expression: v.Expression})
	}
	comp.CompileAndStoreVariables(vars, opt, environment.StoredExpressions)
	var mc []cel.ExpressionAccessor
	for i := range p.Spec.MatchConditions {
		mc = append(mc, (*matchconditions.MatchCondition)(&p.Spec.MatchConditions[i]))
	}
	matcher := matchconditions.NewMatcher(comp.CompileCondition(mc, opt, environment.StoredExpressions),
		p.Spec.FailurePolicy, "policy", "validate", p.Name)
	var vals, msgs []cel.ExpressionAccessor
	for _, v := range p.Spec.Validations {
		vals = append(vals, &validating.ValidationCondition{Expression: v.Expression, Message: v.Message, Reason: v.Reason})
		var m cel.ExpressionAccessor
		if v.MessageExpression != "" {
			m = &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}
		}
		msgs = append(msgs, m)
	}
	val := validating.NewValidator(comp.CompileCondition(vals, opt, environment.StoredExpressions), matcher,
		comp.CompileCondition(nil, opt, environment.StoredExpressions),
		comp.CompileCondition(msgs, msgOpt, environment.StoredExpressions), p.Spec.FailurePolicy, nil)

	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64<<10), maxLine)
	line := 0
	for in.Scan() {
		line++
		var r request
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			fail("request line %d is not a request object: %v", line, err)
		}
		if r.Object == nil && r.OldObject == nil {
			fail("request line %d (id %q) has neither object nor oldObject", line, r.ID)
		}
		o, old := obj(r.Object), obj(r.OldObject)
		ref := o
		if ref == nil {
			ref = old
		}
		u := ref.(*unstructured.Unstructured)
		gvr := schema.GroupVersionResource{Version: "v1", Resource: r.Resource}
		gvk := schema.GroupVersionKind{Version: "v1", Kind: u.GetKind()}
		name, ns := u.GetName(), u.GetNamespace()
		if r.Name != "" {
			name = r.Name
		}
		if r.InNamespace != "" {
			ns = r.InNamespace
		}
		attr := admission.NewAttributesRecord(o, old, gvk, ns, name, gvr, r.SubResource,
			admission.Operation(r.Operation), nil, false, &user.DefaultInfo{Name: r.User, Groups: r.Groups})
		va := &admission.VersionedAttributes{Attributes: attr, VersionedKind: gvk,
			VersionedObject: admission.NewLazyObject(o), VersionedOldObject: admission.NewLazyObject(old)}
		res := val.Validate(context.Background(), gvr, va, nil, r.Namespace, 10000000, nil)
		var denied []string
		for _, d := range res.Decisions {
			if d.Action != validating.ActionAdmit {
				denied = append(denied, string(d.Action)+" "+d.Message)
			}
		}
		if len(denied) == 0 {
			fmt.Printf("ALLOW %s\n", r.ID)
		} else {
			fmt.Printf("DENY %s: %s\n", r.ID, strings.Join(denied, " | "))
		}
	}
	if err := in.Err(); err != nil {
		fail("reading request line %d: %v (a line may be at most %d bytes)", line+1, err, maxLine)
	}
}
