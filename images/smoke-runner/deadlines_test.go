package main

// The watchdog step against an in-process stand-in for the Kubernetes API's workflow routes (named
// as such: the real API server and Argo controller run it in tests/smoke/test_semaphore_hold.py).

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeWorkflowAPI struct {
	mu       sync.Mutex
	items    []map[string]any
	patches  map[string]map[string]any
	selector string
	status   int            // answer every request with this status when set
	failOn   map[string]int // answer a patch of these workflows with this status
}

func (f *fakeWorkflowAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer sa-token" {
		http.Error(w, "no token", http.StatusUnauthorized)
		return
	}
	if f.status != 0 {
		http.Error(w, `{"kind":"Status","message":"forbidden"}`, f.status)
		return
	}
	const prefix = "/apis/argoproj.io/v1alpha1/namespaces/cogniverse/workflows"
	switch {
	case r.Method == http.MethodGet && r.URL.Path == prefix:
		f.selector = r.URL.Query().Get("labelSelector")
		_ = json.NewEncoder(w).Encode(map[string]any{"items": f.items})
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, prefix+"/"):
		if r.Header.Get("Content-Type") != "application/merge-patch+json" {
			http.Error(w, "bad content type", http.StatusUnsupportedMediaType)
			return
		}
		var p map[string]any
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, prefix+"/")
		if code := f.failOn[name]; code != 0 {
			http.Error(w, `{"kind":"Status","message":"denied by policy"}`, code)
			return
		}
		f.patches[name] = p
		w.Write([]byte(`{}`))
	default:
		http.NotFound(w, r)
	}
}

func wf(name string, started time.Time, deadline any, fromTemplate bool, annotations map[string]string, shutdown string) map[string]any {
	spec := map[string]any{}
	status := map[string]any{"phase": "Running", "startedAt": started.UTC().Format(time.RFC3339)}
	if deadline != nil {
		if fromTemplate {
			status["storedWorkflowTemplateSpec"] = map[string]any{"activeDeadlineSeconds": deadline}
		} else {
			spec["activeDeadlineSeconds"] = deadline
		}
	}
	if shutdown != "" {
		spec["shutdown"] = shutdown
	}
	return map[string]any{"metadata": map[string]any{"name": name, "annotations": annotations}, "spec": spec, "status": status}
}

// standInAPI starts the stand-in over TLS and writes the ServiceAccount files a pod would have.
func standInAPI(t *testing.T, f *fakeWorkflowAPI) map[string]string { return standInAPIOf(t, f) }

func standInAPIOf(t *testing.T, f http.Handler) map[string]string {
	srv := httptest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	for name, data := range map[string][]byte{"token": []byte("sa-token\n"), "namespace": []byte("cogniverse"), "ca.crt": ca} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "https://"))
	return map[string]string{"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port,
		"COGNIVERSE_SERVICEACCOUNT_DIR": dir, "COGNIVERSE_OUTPUT_DIR": t.TempDir()}
}

func TestEnforceDeadlinesMarksOverdueAndTerminatesStuckWorkflows(t *testing.T) {
	now := time.Now()
	mark := func(d time.Duration) map[string]string {
		return map[string]string{AnnotationDeadlinePassed: now.Add(d).UTC().Format(time.RFC3339)}
	}
	f := &fakeWorkflowAPI{patches: map[string]map[string]any{}, items: []map[string]any{
		wf("in-time", now.Add(-10*time.Second), 60, false, nil, ""),
		wf("overdue", now.Add(-90*time.Second), 60, false, nil, ""),
		wf("overdue-ref", now.Add(-90*time.Second), 60, true, nil, ""),
		wf("stuck", now.Add(-2000*time.Second), 60, false, mark(-1900*time.Second), ""),
		wf("marked-recently", now.Add(-100*time.Second), 60, false, mark(-30*time.Second), ""),
		// argo resubmit copied the old run's mark (attack21d #16): older than this run's deadline, so absent
		wf("resubmitted", now.Add(-90*time.Second), 60, false, mark(-5000*time.Second), ""),
		wf("marked-junk", now.Add(-90*time.Second), 60, false, map[string]string{AnnotationDeadlinePassed: "earlier"}, ""),
		wf("no-deadline", now.Add(-9000*time.Second), nil, false, nil, ""),
		wf("stopping", now.Add(-9000*time.Second), 60, false, nil, "Stop"),
	}}
	env := standInAPI(t, f)
	code, stderr, out := invoke(t, env, "enforce-deadlines", "--selector", "app.kubernetes.io/instance=cv", "--terminate-after-seconds", "600")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if f.selector != "app.kubernetes.io/instance=cv,workflows.argoproj.io/phase=Running" {
		t.Errorf("labelSelector %q", f.selector)
	}
	if out["overdue-count"] != "5" || out["terminated-count"] != "1" {
		t.Errorf("outputs %v", out)
	}
	// marked-recently was marked by an earlier run and is not yet due: its mark is never rewritten;
	// stopping has an operator's shutdown, which the watchdog never changes.
	if got := strings.Join(sortedKeys(f.patches), ","); got != "marked-junk,overdue,overdue-ref,resubmitted,stuck" {
		t.Fatalf("patched %s", got)
	}
	for _, n := range []string{"overdue", "overdue-ref", "resubmitted", "marked-junk"} {
		raw, _ := json.Marshal(f.patches[n])
		if !bytes.Contains(raw, []byte(AnnotationDeadlinePassed)) || bytes.Contains(raw, []byte("spec")) {
			t.Errorf("%s: patch %s (want only the deadline-passed annotation)", n, raw)
		}
	}
	raw, _ := json.Marshal(f.patches["stuck"])
	if want := `"spec":{"shutdown":"Terminate"}`; !bytes.Contains(raw, []byte(want)) || !bytes.Contains(raw, []byte(AnnotationTerminated)) {
		t.Errorf("stuck: patch %s (want %s and the terminated annotation)", raw, want)
	}
}

func TestEnforceDeadlinesFailsWithTheAPIsAnswer(t *testing.T) {
	f := &fakeWorkflowAPI{patches: map[string]map[string]any{}, status: http.StatusForbidden}
	env := standInAPI(t, f)
	code, stderr, _ := invoke(t, env, "enforce-deadlines", "--selector", "a=b", "--terminate-after-seconds", "0")
	if code != 1 || !strings.Contains(stderr, "cannot list workflows") || !strings.Contains(stderr, "HTTP 403") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}

func TestEnforceDeadlinesOutsideAPodSaysSo(t *testing.T) {
	code, stderr, _ := invoke(t, map[string]string{"COGNIVERSE_OUTPUT_DIR": t.TempDir()}, "enforce-deadlines", "--selector", "a=b", "--terminate-after-seconds", "0")
	if code != 1 || !strings.Contains(stderr, "KUBERNETES_SERVICE_HOST") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}

func TestSelectorRejectsAnythingButEqualityTerms(t *testing.T) {
	for _, bad := range []string{"", "a", "a=b,", "a in (b)", "a!=b", "a=b c", "a=b\nc=d", "-a=b", "a=b=c"} {
		code, stderr, _ := invoke(t, nil, "enforce-deadlines", "--selector", bad, "--terminate-after-seconds", "0")
		if code != 2 || !strings.Contains(stderr, "--selector") {
			t.Errorf("%q: exit %d: %s", bad, code, stderr)
		}
	}
}

func TestEnforceDeadlinesGoesOnPastAFailedPatchAndFailsAtTheEnd(t *testing.T) {
	now := time.Now()
	f := &fakeWorkflowAPI{patches: map[string]map[string]any{}, failOn: map[string]int{"a-first": http.StatusForbidden},
		items: []map[string]any{
			wf("a-first", now.Add(-90*time.Second), 60, false, nil, ""),
			wf("b-second", now.Add(-90*time.Second), 60, false, nil, ""),
			wf("c-third", now.Add(-2000*time.Second), 60, false, map[string]string{AnnotationDeadlinePassed: "x"}, ""),
		}}
	env := standInAPI(t, f)
	code, stderr, _ := invoke(t, env, "enforce-deadlines", "--selector", "a=b", "--terminate-after-seconds", "600")
	if code != 1 || !strings.Contains(stderr, "1 of 3 overdue workflows not patched") || !strings.Contains(stderr, "a-first") ||
		!strings.Contains(stderr, "HTTP 403") {
		t.Errorf("exit %d: %s", code, stderr)
	}
	if got := strings.Join(sortedKeys(f.patches), ","); got != "b-second,c-third" {
		t.Errorf("patched %s (want the two after the failed one)", got)
	}
}

func TestEnforceDeadlinesRefusesATerminateAfterThatOverflows(t *testing.T) {
	env := standInAPI(t, &fakeWorkflowAPI{patches: map[string]map[string]any{}})
	for _, bad := range []string{"315360001", "9223372036854775807", "99999999999999999999"} {
		code, stderr, _ := invoke(t, env, "enforce-deadlines", "--selector", "a=b", "--terminate-after-seconds", bad)
		if code == 0 || !strings.Contains(stderr, "terminate-after-seconds") {
			t.Errorf("%s: exit %d: %s", bad, code, stderr)
		}
	}
}
