package main

// enforce-deadlines: the deadline watchdog's step (docs/step-contract.md). Argo enforces a
// workflow's activeDeadlineSeconds only when it next processes the workflow, and a workflow whose
// only pod is Pending (it cannot be scheduled, e.g. its PVC is missing) produces no event, so Argo
// does not look at it again for up to 20 minutes (its informer resync) and the workflow keeps the
// heavy-jobs semaphore. This step lists the release's Running workflows through the Kubernetes API
// and, for each one past its deadline:
//   - sets the annotation cogniverse.dev/deadline-passed (Argo then fails the Pending steps, deletes
//     their pods, runs the exit handler and releases the semaphore, by its own rules);
//   - when the deadline passed more than --terminate-after-seconds ago and the workflow was already
//     marked (its exit handler is stuck too), sets spec.shutdown=Terminate;
//   - never touches a workflow with a spec.shutdown already set, nor re-marks one marked during this run
//     (a mark older than its deadline, copied by argo resubmit, counts as absent);
//   - goes on past a failed patch, and exits non-zero at the end naming every failure.
// The chart's ValidatingAdmissionPolicy lets the watchdog's ServiceAccount change nothing else.
// Only the standard library: the image holds this one static binary.

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	// AnnotationDeadlinePassed is set (RFC 3339 time) on a workflow found past its deadline.
	AnnotationDeadlinePassed = "cogniverse.dev/deadline-passed"
	// AnnotationTerminated is set with spec.shutdown=Terminate.
	AnnotationTerminated = "cogniverse.dev/deadline-terminated"
	serviceAccountDir    = "/var/run/secrets/kubernetes.io/serviceaccount"
	kubeTimeout          = 20 * time.Second
)

// kubeAPI is the Kubernetes API as the step's ServiceAccount sees it.
type kubeAPI struct {
	base      string // https://host:port
	token     string
	namespace string
	client    *http.Client
}

// inClusterAPI reads the pod's ServiceAccount credentials, as every in-cluster client does.
func inClusterAPI(env func(string) string, dir string) (*kubeAPI, error) {
	host, port := env("KUBERNETES_SERVICE_HOST"), env("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, fmt.Errorf("enforce-deadlines: KUBERNETES_SERVICE_HOST/PORT are not set: this step runs only in a pod")
	}
	read := func(name string) (string, error) {
		b, err := os.ReadFile(dir + "/" + name)
		if err != nil {
			return "", fmt.Errorf("enforce-deadlines: no ServiceAccount %s in %s (is automountServiceAccountToken off?): %v", name, dir, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	token, err := read("token")
	if err != nil {
		return nil, err
	}
	ns, err := read("namespace")
	if err != nil {
		return nil, err
	}
	ca, err := read("ca.crt")
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(ca)) {
		return nil, fmt.Errorf("enforce-deadlines: %s/ca.crt holds no certificate", dir)
	}
	return &kubeAPI{
		base: "https://" + net.JoinHostPort(host, port), token: token, namespace: ns,
		client: &http.Client{Timeout: kubeTimeout, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}},
	}, nil
}

func (k *kubeAPI) do(method, path, contentType string, body []byte) ([]byte, error) {
	req, err := http.NewRequest(method, k.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+k.token)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: HTTP %d: %.300s", method, path, resp.StatusCode, out)
	}
	return out, nil
}

// workflow: the fields of an Argo Workflow the watchdog reads.
type workflow struct {
	Metadata struct {
		Name        string            `json:"name"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds"`
		Shutdown              string `json:"shutdown"`
	} `json:"spec"`
	Status struct {
		Phase     string    `json:"phase"`
		StartedAt time.Time `json:"startedAt"`
		// A run of a WorkflowTemplate (workflowTemplateRef) carries the template's deadline here.
		StoredWorkflowTemplateSpec *struct {
			ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds"`
		} `json:"storedWorkflowTemplateSpec"`
	} `json:"status"`
}

// deadline is the workflow's activeDeadlineSeconds as Argo applies it (its own, else its template's).
func (w *workflow) deadline() (time.Duration, bool) {
	d := w.Spec.ActiveDeadlineSeconds
	if d == nil && w.Status.StoredWorkflowTemplateSpec != nil {
		d = w.Status.StoredWorkflowTemplateSpec.ActiveDeadlineSeconds
	}
	if d == nil || *d <= 0 {
		return 0, false
	}
	return time.Duration(*d) * time.Second, true
}

// markedThisRun: the workflow carries a deadline mark made during this run, at or after its deadline. A mark
// from before status.startedAt + deadline (argo resubmit copies every annotation, attack21d #16) or one that is
// not a time counts as absent: the watchdog marks the run again (its admission policy allows replacing only such
// a mark) instead of waiting terminate-after-seconds with Argo never nudged.
func (w *workflow) markedThisRun(limit time.Duration) bool {
	v, ok := w.Metadata.Annotations[AnnotationDeadlinePassed]
	if !ok {
		return false
	}
	t, err := time.Parse(time.RFC3339, v)
	return err == nil && !t.Before(w.Status.StartedAt.Add(limit))
}

// Action is what the watchdog did to one workflow.
type Action struct {
	Workflow string
	Overdue  time.Duration
	Kind     string // "marked" or "terminated"
}

// EnforceDeadlines marks (and, past terminateAfter, terminates) the Running workflows matching
// selector whose deadline has passed at now. A workflow is marked once; one already marked is
// terminated once it is more than terminateAfter past its deadline; one with any spec.shutdown (an
// operator's Stop, say) is left alone. A failed patch does not stop it: it goes on with the others
// and returns every failure at the end, with what it did.
func EnforceDeadlines(k *kubeAPI, selector string, terminateAfter time.Duration, now time.Time) ([]Action, error) {
	q := url.Values{"labelSelector": {selector + ",workflows.argoproj.io/phase=Running"}}
	body, err := k.do(http.MethodGet, "/apis/argoproj.io/v1alpha1/namespaces/"+url.PathEscape(k.namespace)+"/workflows?"+q.Encode(), "", nil)
	if err != nil {
		return nil, fmt.Errorf("enforce-deadlines: cannot list workflows: %v", err)
	}
	var list struct {
		Items []workflow `json:"items"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("enforce-deadlines: the workflow list is not JSON: %v", err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Metadata.Name < list.Items[j].Metadata.Name })
	var done []Action
	var failed []string
	for _, w := range list.Items {
		limit, ok := w.deadline()
		if w.Status.Phase != "Running" || !ok || w.Status.StartedAt.IsZero() || w.Spec.Shutdown != "" {
			continue
		}
		overdue := now.Sub(w.Status.StartedAt.Add(limit))
		if overdue <= 0 {
			continue
		}
		stamp := now.UTC().Format(time.RFC3339)
		patch := map[string]any{"metadata": map[string]any{"annotations": map[string]string{AnnotationDeadlinePassed: stamp}}}
		kind := "marked"
		if w.markedThisRun(limit) {
			if overdue <= terminateAfter {
				continue // marked by an earlier run; Argo has it, and it is not yet due to be terminated
			}
			patch = map[string]any{"metadata": map[string]any{"annotations": map[string]string{AnnotationTerminated: stamp}},
				"spec": map[string]string{"shutdown": "Terminate"}}
			kind = "terminated"
		}
		raw, _ := json.Marshal(patch)
		path := "/apis/argoproj.io/v1alpha1/namespaces/" + url.PathEscape(k.namespace) + "/workflows/" + url.PathEscape(w.Metadata.Name)
		if _, err := k.do(http.MethodPatch, path, "application/merge-patch+json", raw); err != nil {
			failed = append(failed, fmt.Sprintf("cannot mark workflow %s (%s): %v", w.Metadata.Name, kind, err))
			continue
		}
		done = append(done, Action{Workflow: w.Metadata.Name, Overdue: overdue, Kind: kind})
	}
	if len(failed) > 0 {
		return done, fmt.Errorf("enforce-deadlines: %d of %d overdue workflows not patched: %s", len(failed), len(failed)+len(done), strings.Join(failed, "; "))
	}
	return done, nil
}

// maxTerminateAfterSeconds: terminate-after-seconds above this (about 10 years) is refused, as a
// time.Duration of seconds overflows past about 292 years.
const maxTerminateAfterSeconds = 315360000

func enforceDeadlines(a map[string]string, env func(string) string) (map[string]string, error) {
	dir := serviceAccountDir
	if d := env("COGNIVERSE_SERVICEACCOUNT_DIR"); d != "" { // tests only: the credentials of a stand-in API
		dir = d
	}
	api, err := inClusterAPI(env, dir)
	if err != nil {
		return nil, err
	}
	after, err := strconv.ParseInt(a["terminate-after-seconds"], 10, 64)
	if err != nil || after < 0 || after > maxTerminateAfterSeconds {
		return nil, fmt.Errorf("enforce-deadlines: --terminate-after-seconds %q must be an integer from 0 to %d", a["terminate-after-seconds"], maxTerminateAfterSeconds)
	}
	actions, err := EnforceDeadlines(api, a["selector"], time.Duration(after)*time.Second, time.Now())
	terminated := 0
	for _, act := range actions {
		if act.Kind == "terminated" {
			terminated++
			fmt.Printf("workflow %s: %s past its deadline and still running after being marked: spec.shutdown=Terminate\n", act.Workflow, act.Overdue.Round(time.Second))
		} else {
			fmt.Printf("workflow %s: %s past its deadline: marked %s so Argo enforces it\n", act.Workflow, act.Overdue.Round(time.Second), AnnotationDeadlinePassed)
		}
	}
	if err != nil {
		return nil, err
	}
	return map[string]string{"overdue-count": strconv.Itoa(len(actions)), "terminated-count": strconv.Itoa(terminated)}, nil
}
