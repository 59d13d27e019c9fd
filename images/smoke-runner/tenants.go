package main

// The bound on the number of tenants of a release (validate-tenant --max-tenants). An admission
// policy sees one request and cannot count objects, and a ResourceQuota cannot count namespaces, so
// the bound lives here: tenant-provisioning runs validate-tenant first, as the tenant provisioner's
// ServiceAccount (which may list namespaces), under a mutex, and only a run of that template by
// reference may use that account (docs/security.md), so two runs never count at once and no run
// skips the count.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// ReleaseLabel marks every object a release's tenant provisioner writes (provisioner-admission.yaml).
const ReleaseLabel = "cogniverse.dev/release"

// checkTenantLimit refuses a new tenant namespace ns when the release already has maxTenants.
// Re-provisioning an existing tenant is always allowed.
func checkTenantLimit(env func(string) string, releaseID, ns, max string) error {
	limit, err := strconv.Atoi(max)
	if err != nil || limit < 1 {
		return usageErr("--max-tenants %q: must be a positive integer", max)
	}
	if releaseID == "" {
		return usageErr("--max-tenants needs --release-id (the release's %s label value)", ReleaseLabel)
	}
	dir := serviceAccountDir
	if d := env("COGNIVERSE_SERVICEACCOUNT_DIR"); d != "" { // tests only: the credentials of a stand-in API
		dir = d
	}
	api, err := inClusterAPI(env, dir)
	if err != nil {
		return err
	}
	q := url.Values{"labelSelector": {ReleaseLabel + "=" + releaseID}}
	body, err := api.do(http.MethodGet, "/api/v1/namespaces?"+q.Encode(), "", nil)
	if err != nil {
		return fmt.Errorf("validate-tenant: cannot count the release's tenants: %v", err)
	}
	var list struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return fmt.Errorf("validate-tenant: the namespace list is not JSON: %v", err)
	}
	for _, item := range list.Items {
		if item.Metadata.Name == ns {
			return nil
		}
	}
	if len(list.Items) >= limit {
		return usageErr("--tenant-id: the release already has %d tenants, its limit (workflows.templates.tenantProvisioning.maxTenants=%d); remove a tenant or raise the limit", len(list.Items), limit)
	}
	return nil
}
