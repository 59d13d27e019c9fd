package main

// Vespa's export and import, the restore steps and scale-phoenix (docs/step-contract.md).
//
// backup-vespa follows Vespa's documented export path: visiting every document through the
// /document/v1 API (what `vespa visit` does), page by page with the continuation token, into JSON
// Lines of feed operations ({"put": id, "fields": {...}}: the format `vespa feed` reads back).
// restore-vespa feeds those lines back through /document/v1 (what `vespa feed` does). With no
// VESPA_URL (Vespa off, as in the local and smoke profiles) both work on a stand-in export.
// Only the standard library: the image holds this one static binary.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const vespaTimeout = 60 * time.Second

// vespaExport visits every document into documents.jsonl.
func vespaExport(dir string, env func(string) string) ([]string, string, string, error) {
	raw := env("VESPA_URL")
	if raw == "" {
		return standIn("vespa")(dir, env)
	}
	base, err := serviceBase("VESPA_URL", raw)
	if err != nil {
		return nil, "", "", err
	}
	out, err := os.Create(filepath.Join(dir, "documents.jsonl"))
	if err != nil {
		return nil, "", "", err
	}
	defer out.Close()
	w := bufio.NewWriter(out)
	client := &http.Client{Timeout: vespaTimeout}
	continuation, count := "", 0
	for {
		q := url.Values{"wantedDocumentCount": {"1000"}}
		if continuation != "" {
			q.Set("continuation", continuation)
		}
		var page struct {
			Documents []struct {
				ID     string          `json:"id"`
				Fields json.RawMessage `json:"fields"`
			} `json:"documents"`
			Continuation string `json:"continuation"`
		}
		if err := getJSON(client, base+"/document/v1/?"+q.Encode(), &page); err != nil {
			return nil, "", "", fmt.Errorf("visiting Vespa's documents: %w", err)
		}
		for _, d := range page.Documents {
			line, _ := json.Marshal(map[string]any{"put": d.ID, "fields": d.Fields})
			w.Write(append(line, '\n'))
			count++
		}
		if page.Continuation == "" {
			break
		}
		continuation = page.Continuation
	}
	if err := w.Flush(); err != nil {
		return nil, "", "", err
	}
	if err := out.Sync(); err != nil {
		return nil, "", "", err
	}
	fmt.Fprintf(os.Stderr, "backup-vespa: %d documents exported\n", count)
	return []string{"documents.jsonl"}, "vespa-feed-jsonl", env("VESPA_VERSION"), nil
}

func serviceBase(name, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return "", fmt.Errorf("%s %q is not an http(s)://host[:port] URL", name, raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

func getJSON(client *http.Client, u string, into any) error {
	resp, err := client.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d: %.200s", u, resp.StatusCode, body)
	}
	return json.Unmarshal(body, into)
}

// documentPath maps a document id (id:<namespace>:<type>:[n=<num>|g=<group>]:<local>) to its
// /document/v1 path.
func documentPath(id string) (string, error) {
	parts := strings.SplitN(id, ":", 5)
	if len(parts) != 5 || parts[0] != "id" || parts[1] == "" || parts[2] == "" || parts[4] == "" {
		return "", fmt.Errorf("%q is not a Vespa document id", id)
	}
	p := "/document/v1/" + url.PathEscape(parts[1]) + "/" + url.PathEscape(parts[2])
	switch kv := parts[3]; {
	case kv == "":
		p += "/docid/"
	case strings.HasPrefix(kv, "n="):
		p += "/number/" + url.PathEscape(kv[2:]) + "/"
	case strings.HasPrefix(kv, "g="):
		p += "/group/" + url.PathEscape(kv[2:]) + "/"
	default:
		return "", fmt.Errorf("%q has an unknown key/value part %q", id, kv)
	}
	return p + url.PathEscape(parts[4]), nil
}

// restoreComponent verifies one component of a backup and returns its manifest.
func restoreComponent(a map[string]string, env func(string) string, what string) (*Manifest, string, error) {
	set := filepath.Join(hostPath(env, a["backup-dir"]), a["backup-id"])
	m, err := verifyComponent(set, a["backup-id"], what)
	if err != nil {
		return nil, "", fmt.Errorf("restore-%s: %v: nothing changed", what, err)
	}
	return m, set, nil
}

// restoreVespa feeds the exported documents back (a put overwrites: running it twice is the same).
func restoreVespa(a map[string]string, env func(string) string) (map[string]string, error) {
	m, set, err := restoreComponent(a, env, "vespa")
	if err != nil {
		return nil, err
	}
	if m.Format == "stand-in" {
		fmt.Fprintf(os.Stderr, "restore-vespa: backup %s holds a stand-in export (Vespa was off): nothing to feed\n", a["backup-id"])
		return map[string]string{"restored-count": "0"}, nil
	}
	base, err := serviceBase("VESPA_URL", env("VESPA_URL"))
	if err != nil {
		return nil, fmt.Errorf("restore-vespa: %v: enable Vespa in the release to restore its documents", err)
	}
	f, err := os.Open(filepath.Join(set, m.Files[0].Path))
	if err != nil {
		return nil, fmt.Errorf("restore-vespa: %w", err)
	}
	defer f.Close()
	client := &http.Client{Timeout: vespaTimeout}
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 64<<20)
	count := 0
	for scanner.Scan() {
		var op struct {
			Put    string          `json:"put"`
			Fields json.RawMessage `json:"fields"`
		}
		if err := json.Unmarshal(scanner.Bytes(), &op); err != nil {
			return nil, fmt.Errorf("restore-vespa: line %d of %s is not a feed operation: %v", count+1, m.Files[0].Path, err)
		}
		path, err := documentPath(op.Put)
		if err != nil {
			return nil, fmt.Errorf("restore-vespa: line %d: %v", count+1, err)
		}
		body, _ := json.Marshal(map[string]json.RawMessage{"fields": op.Fields})
		resp, err := client.Post(base+path, "application/json", bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("restore-vespa: feeding %s: %v", op.Put, err)
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("restore-vespa: feeding %s: HTTP %d: %.200s", op.Put, resp.StatusCode, msg)
		}
		count++
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("restore-vespa: reading %s: %v", m.Files[0].Path, err)
	}
	return map[string]string{"restored-count": strconv.Itoa(count)}, nil
}

// restorePhoenixStandIn is restore-phoenix where this image has no Phoenix data to write (the
// chart runs the SQLite restore in the Phoenix image itself): it verifies, and refuses a real export.
func restorePhoenixStandIn(a map[string]string, env func(string) string) (map[string]string, error) {
	m, _, err := restoreComponent(a, env, "phoenix")
	if err != nil {
		return nil, err
	}
	if m.Format != "stand-in" {
		return nil, fmt.Errorf("restore-phoenix: backup %s is a %s export; the smoke runner restores only stand-in exports (a real runtime runs pg_restore): nothing changed", a["backup-id"], m.Format)
	}
	return map[string]string{"restored-id": a["backup-id"]}, nil
}

// scalePhoenix sets the replicas of the Phoenix Deployment through its scale subresource (the
// only right the restore ServiceAccount has); scaling to 0 waits until no Phoenix pod is counted.
func scalePhoenix(a map[string]string, env func(string) string) (map[string]string, error) {
	dir := serviceAccountDir
	if d := env("COGNIVERSE_SERVICEACCOUNT_DIR"); d != "" { // tests only: the credentials of a stand-in API
		dir = d
	}
	api, err := inClusterAPI(env, dir)
	if err != nil {
		return nil, fmt.Errorf("scale-phoenix: %v", err)
	}
	path := "/apis/apps/v1/namespaces/" + api.namespace + "/deployments/" + a["deployment"] + "/scale"
	want, _ := strconv.Atoi(a["replicas"])
	patch, _ := json.Marshal(map[string]any{"spec": map[string]int{"replicas": want}})
	if _, err := api.do(http.MethodPatch, path, "application/merge-patch+json", patch); err != nil {
		return nil, fmt.Errorf("scale-phoenix: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Minute); want == 0; time.Sleep(2 * time.Second) {
		body, err := api.do(http.MethodGet, path, "", nil)
		if err != nil {
			return nil, fmt.Errorf("scale-phoenix: %v", err)
		}
		var scale struct {
			Status struct {
				Replicas int `json:"replicas"`
			} `json:"status"`
		}
		if err := json.Unmarshal(body, &scale); err != nil {
			return nil, fmt.Errorf("scale-phoenix: unexpected scale object: %.200s", body)
		}
		if scale.Status.Replicas == 0 {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("scale-phoenix: %s still has %d pods 5 minutes after scaling to 0", a["deployment"], scale.Status.Replicas)
		}
	}
	return map[string]string{"replicas": a["replicas"]}, nil
}
