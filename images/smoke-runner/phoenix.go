package main

// The tenant's Phoenix project, through Phoenix's REST API (v1), when the chart wires Phoenix in:
// the workflow step environment then carries PHOENIX_URL (the chart's cluster-DNS URL of the
// Phoenix Service). Without PHOENIX_URL (Phoenix off, as in the smoke profile) the steps keep
// their fixed outputs. Only the standard library: the image holds this one static binary.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// phoenixTimeout bounds each request: a Phoenix that does not answer fails the step (Argo retries).
const phoenixTimeout = 20 * time.Second

type phoenixProject struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// phoenixBase validates PHOENIX_URL: an http(s) URL with a host and no query.
func phoenixBase(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("PHOENIX_URL %q is not an http(s)://host[:port] URL: fix phoenix.service in the chart values", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// phoenixGetProject returns the project, nil if Phoenix answers 404, or an error.
func phoenixGetProject(client *http.Client, base, name string) (*phoenixProject, error) {
	resp, err := client.Get(base + "/v1/projects/" + url.PathEscape(name))
	if err != nil {
		return nil, fmt.Errorf("phoenix at %s did not answer: %v", base, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch resp.StatusCode {
	case http.StatusOK:
		var doc struct {
			Data phoenixProject `json:"data"`
		}
		if err := json.Unmarshal(body, &doc); err != nil || doc.Data.Name != name {
			return nil, fmt.Errorf("phoenix at %s answered GET /v1/projects/%s with an unexpected body: %.200s", base, name, body)
		}
		return &doc.Data, nil
	case http.StatusNotFound:
		return nil, nil
	default:
		return nil, fmt.Errorf("phoenix at %s answered GET /v1/projects/%s with HTTP %d: %.200s", base, name, resp.StatusCode, body)
	}
}

// createPhoenixProject creates the tenant's project (named by the tenant id), or finds the one a
// previous attempt created: retries are safe.
func createPhoenixProject(a map[string]string, env func(string) string) (map[string]string, error) {
	raw := env("PHOENIX_URL")
	if raw == "" {
		return map[string]string{"project": a["tenant-id"]}, nil
	}
	base, err := phoenixBase(raw)
	if err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: phoenixTimeout}
	name := a["tenant-id"]
	existing, err := phoenixGetProject(client, base, name)
	if err != nil {
		return nil, err
	}
	if existing != nil {
		return map[string]string{"project": existing.Name}, nil
	}
	payload, _ := json.Marshal(map[string]string{"name": name, "description": a["tenant-name"]})
	resp, err := client.Post(base+"/v1/projects", "application/json", bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("phoenix at %s did not answer: %v", base, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("phoenix at %s refused to create project %q: HTTP %d: %.200s", base, name, resp.StatusCode, body)
	}
	var doc struct {
		Data phoenixProject `json:"data"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Data.Name != name || doc.Data.ID == "" {
		return nil, fmt.Errorf("phoenix at %s answered POST /v1/projects with an unexpected body: %.200s", base, body)
	}
	return map[string]string{"project": doc.Data.Name}, nil
}

// checkPhoenixProject reads the tenant's project back (verify-tenant): it must exist.
func checkPhoenixProject(tenantID string, env func(string) string) error {
	raw := env("PHOENIX_URL")
	if raw == "" {
		return nil
	}
	base, err := phoenixBase(raw)
	if err != nil {
		return err
	}
	project, err := phoenixGetProject(&http.Client{Timeout: phoenixTimeout}, base, tenantID)
	if err != nil {
		return err
	}
	if project == nil {
		return fmt.Errorf("verify-tenant: phoenix at %s has no project %q (create-phoenix-project did not create it)", base, tenantID)
	}
	return nil
}
