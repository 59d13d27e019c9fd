package main

// validate-tenant's tenant bound against an in-process stand-in for the Kubernetes API's namespace
// list (named as such; on the node, tests/smoke/test_security.py provisions through the real one).

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

type fakeNamespaceAPI struct{ names []string }

func (f *fakeNamespaceAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer sa-token" || r.URL.Path != "/api/v1/namespaces" ||
		r.URL.Query().Get("labelSelector") != ReleaseLabel+"=cogniverse.cv" {
		http.Error(w, `{"message":"forbidden"}`, http.StatusForbidden)
		return
	}
	items := []map[string]any{}
	for _, n := range f.names {
		items = append(items, map[string]any{"metadata": map[string]string{"name": n}})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"items": items})
}

func validateArgs(tenant string, extra ...string) []string {
	return append([]string{"validate-tenant", "--tenant-id", tenant, "--tenant-name", "T", "--profiles", "p1",
		"--storage-quota", "1Gi", "--cpu-quota", "1", "--memory-quota", "1Gi"}, extra...)
}

func TestValidateTenantRefusesANewTenantPastTheLimit(t *testing.T) {
	env := standInAPIOf(t, &fakeNamespaceAPI{names: []string{"cogniverse-acme", "cogniverse-beta-corp"}})
	limit := []string{"--max-tenants", "2", "--release-id", "cogniverse.cv"}
	code, stderr, _ := invoke(t, env, validateArgs("c_new", limit...)...)
	if code != 2 || !strings.Contains(stderr, "already has 2 tenants") || !strings.Contains(stderr, "maxTenants=2") {
		t.Errorf("a third tenant: exit %d: %s", code, stderr)
	}
	if code, stderr, out := invoke(t, env, validateArgs("beta_corp", limit...)...); code != 0 || out["namespace"] != "cogniverse-beta-corp" {
		t.Errorf("re-provisioning an existing tenant: exit %d: %s", code, stderr)
	}
	if code, stderr, _ := invoke(t, env, validateArgs("c_new", "--max-tenants", "3", "--release-id", "cogniverse.cv")...); code != 0 {
		t.Errorf("below the limit: exit %d: %s", code, stderr)
	}
}

func TestValidateTenantLimitNeedsTheAPIAndSaneArguments(t *testing.T) {
	env := standInAPIOf(t, &fakeNamespaceAPI{})
	for _, args := range [][]string{{"--max-tenants", "0", "--release-id", "x"}, {"--max-tenants", "many", "--release-id", "x"}, {"--max-tenants", "5"}} {
		if code, stderr, _ := invoke(t, env, validateArgs("acme", args...)...); code != 2 || !strings.Contains(stderr, "--max-tenants") {
			t.Errorf("%v: exit %d: %s", args, code, stderr)
		}
	}
	// the API refuses: a transient failure (exit 1, retried), naming what failed
	if code, stderr, _ := invoke(t, env, validateArgs("acme", "--max-tenants", "5", "--release-id", "other")...); code != 1 ||
		!strings.Contains(stderr, "cannot count the release's tenants") {
		t.Errorf("forbidden: exit %d: %s", code, stderr)
	}
}
