package main

// The Phoenix client against an in-process stand-in for Phoenix's /v1/projects routes (named as
// such: the real Phoenix is exercised by tests/smoke/test_services.py on the local cluster).

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

type fakePhoenix struct {
	mu       sync.Mutex
	projects map[string]string // name -> description
	posts    int
	failPost bool
}

func (f *fakePhoenix) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/projects/"):
		name := strings.TrimPrefix(r.URL.Path, "/v1/projects/")
		desc, ok := f.projects[name]
		if !ok {
			http.Error(w, `{"detail":"not found"}`, http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]string{"id": "UHJvamVjdDox", "name": name, "description": desc}})
	case r.Method == http.MethodPost && r.URL.Path == "/v1/projects":
		f.posts++
		if f.failPost {
			http.Error(w, "database is locked", http.StatusInternalServerError)
			return
		}
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.projects[body["name"]] = body["description"]
		_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]string{"id": "UHJvamVjdDoy", "name": body["name"], "description": body["description"]}})
	default:
		http.NotFound(w, r)
	}
}

func TestCreatePhoenixProjectCreatesItOnceAndVerifyReadsItBack(t *testing.T) {
	fake := &fakePhoenix{projects: map[string]string{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	env := map[string]string{"PHOENIX_URL": srv.URL + "/"}
	code, stderr, out := invoke(t, env, "create-phoenix-project", "--tenant-id", "acme_corp", "--tenant-name", "Acme Corp")
	if code != 0 || out["project"] != "acme_corp" || fake.projects["acme_corp"] != "Acme Corp" {
		t.Fatalf("create: code %d stderr %q outputs %v projects %v", code, stderr, out, fake.projects)
	}
	// A retried step finds the project and does not post again.
	if code, stderr, _ = invoke(t, env, "create-phoenix-project", "--tenant-id", "acme_corp", "--tenant-name", "Acme Corp"); code != 0 || fake.posts != 1 {
		t.Fatalf("retry: code %d stderr %q posts %d", code, stderr, fake.posts)
	}
	if code, stderr, _ = invoke(t, env, "verify-tenant", "--tenant-id", "acme_corp", "--namespace", "cogniverse-acme-corp", "--profiles", "p"); code != 0 {
		t.Fatalf("verify: code %d stderr %q", code, stderr)
	}
}

func TestVerifyTenantFailsWhenPhoenixHasNoProject(t *testing.T) {
	srv := httptest.NewServer(&fakePhoenix{projects: map[string]string{}})
	defer srv.Close()
	code, stderr, _ := invoke(t, map[string]string{"PHOENIX_URL": srv.URL}, "verify-tenant", "--tenant-id", "acme_corp", "--namespace", "cogniverse-acme-corp", "--profiles", "p")
	if code != 1 || !strings.Contains(stderr, `no project "acme_corp"`) {
		t.Fatalf("code %d stderr %q", code, stderr)
	}
}

func TestCreatePhoenixProjectReportsPhoenixErrors(t *testing.T) {
	srv := httptest.NewServer(&fakePhoenix{projects: map[string]string{}, failPost: true})
	defer srv.Close()
	code, stderr, out := invoke(t, map[string]string{"PHOENIX_URL": srv.URL}, "create-phoenix-project", "--tenant-id", "acme_corp", "--tenant-name", "Acme Corp")
	if code != 1 || !strings.Contains(stderr, "refused to create project \"acme_corp\": HTTP 500") || len(out) != 0 {
		t.Fatalf("code %d stderr %q outputs %v", code, stderr, out)
	}
	srv.Close()
	code, stderr, _ = invoke(t, map[string]string{"PHOENIX_URL": srv.URL}, "create-phoenix-project", "--tenant-id", "acme_corp", "--tenant-name", "Acme Corp")
	if code != 1 || !strings.Contains(stderr, "did not answer") {
		t.Fatalf("unreachable: code %d stderr %q", code, stderr)
	}
}

func TestPhoenixURLMustBeAnHTTPURL(t *testing.T) {
	for _, bad := range []string{"phoenix:6006", "ftp://phoenix:6006", "http://", "http://phoenix:6006/?x=1"} {
		code, stderr, _ := invoke(t, map[string]string{"PHOENIX_URL": bad}, "create-phoenix-project", "--tenant-id", "acme_corp", "--tenant-name", "Acme Corp")
		if code != 1 || !strings.Contains(stderr, "PHOENIX_URL") || !strings.Contains(stderr, "phoenix.service") {
			t.Errorf("%q: code %d stderr %q", bad, code, stderr)
		}
	}
}

func TestWithoutPhoenixURLTheStepsKeepTheirFixedOutputs(t *testing.T) {
	code, _, out := invoke(t, nil, "create-phoenix-project", "--tenant-id", "acme_corp", "--tenant-name", "Acme Corp")
	if code != 0 || out["project"] != "acme_corp" {
		t.Fatalf("code %d outputs %v", code, out)
	}
}
