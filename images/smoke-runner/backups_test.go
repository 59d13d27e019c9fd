package main

import (
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func verify(t *testing.T, env map[string]string, id, comps string) (int, string, map[string]string) {
	return invoke(t, env, "verify-backup", "--backup-dir", "/backups", "--backup-id", id, "--components", comps)
}

func TestBackupManifestListsEveryFileWithItsSizeAndSha256(t *testing.T) {
	env, root := backupsEnv(t)
	runBackup(t, env, "b1", "vespa", "phoenix")
	raw, err := os.ReadFile(filepath.Join(root, "b1/vespa.complete"))
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	size, sum, _ := fileSha256(filepath.Join(root, "b1/vespa/data.json"))
	if m.Component != "vespa" || m.BackupID != "b1" || m.Format != "stand-in" || m.Time == "" || len(m.Files) != 1 ||
		m.Files[0] != (ManifestFile{Path: "vespa/data.json", Size: size, Sha256: sum}) || m.Size != size {
		t.Errorf("manifest %s", raw)
	}
}

func TestVerifyResolvesLatestToTheNewestCompleteBackup(t *testing.T) {
	env, root := backupsEnv(t)
	runBackup(t, env, "old", "vespa", "phoenix")
	age(t, root, "old", 2)
	runBackup(t, env, "new", "vespa", "phoenix")
	runBackup(t, env, "newest-incomplete", "vespa") // phoenix failed: never chosen for both
	code, stderr, out := verify(t, env, "latest", "vespa,phoenix")
	if code != 0 || out["backup-id"] != "new" || out["phoenix"] != "true" || out["vespa"] != "true" {
		t.Errorf("exit %d %s %v", code, stderr, out)
	}
	if _, _, out := verify(t, env, "latest", "vespa"); out["backup-id"] != "newest-incomplete" || out["phoenix"] != "false" {
		t.Errorf("vespa alone: %v", out)
	}
}

func TestVerifyRefusesAnIncompleteOrCorruptedBackup(t *testing.T) {
	env, root := backupsEnv(t)
	runBackup(t, env, "half", "vespa")
	runBackup(t, env, "bad", "vespa", "phoenix")
	if err := os.WriteFile(filepath.Join(root, "bad/phoenix/data.json"), []byte(`{"tampered":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ id, want string }{
		{"half", "backup half is incomplete: phoenix has no manifest"},
		{"bad", "backup bad is corrupted: phoenix/data.json has sha256"},
		{"missing", "no backup missing"},
	} {
		code, stderr, out := verify(t, env, c.id, "vespa,phoenix")
		if code != 1 || !strings.Contains(stderr, c.want) || !strings.Contains(stderr, "nothing changed") || len(out) != 0 {
			t.Errorf("%s: exit %d %q %v", c.id, code, stderr, out)
		}
	}
	code, stderr, _ := invoke(t, env, "restore-phoenix", "--backup-dir", "/backups", "--backup-id", "bad")
	if code != 1 || !strings.Contains(stderr, "corrupted") {
		t.Errorf("restore-phoenix of a corrupted backup: exit %d %s", code, stderr)
	}
}

func TestVerifyLatestWithNoCompleteBackupSaysSo(t *testing.T) {
	env, _ := backupsEnv(t)
	runBackup(t, env, "half", "vespa")
	code, stderr, _ := verify(t, env, "latest", "vespa,phoenix")
	if code != 1 || !strings.Contains(stderr, "no backup complete for vespa,phoenix") {
		t.Errorf("exit %d %s", code, stderr)
	}
}

// standInVespa is a stand-in for Vespa's /document/v1 API (no Vespa runs here): it serves a visit
// in pages with continuation tokens and records the documents fed to it.
type standInVespa struct {
	mu   sync.Mutex
	docs map[string]json.RawMessage
	fed  map[string]string
}

func (v *standInVespa) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if r.Method == http.MethodGet && r.URL.Path == "/document/v1/" {
		ids := sortedKeys(v.docs)
		start := 0
		if c := r.URL.Query().Get("continuation"); c != "" {
			for i, id := range ids {
				if id == c {
					start = i
				}
			}
		}
		end := min(start+2, len(ids)) // two per page: the visit must follow continuations
		var page []map[string]any
		for _, id := range ids[start:end] {
			page = append(page, map[string]any{"id": id, "fields": v.docs[id]})
		}
		out := map[string]any{"documents": page}
		if end < len(ids) {
			out["continuation"] = ids[end]
		}
		json.NewEncoder(w).Encode(out)
		return
	}
	if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/document/v1/") {
		body, _ := io.ReadAll(r.Body)
		v.fed[r.URL.Path] = string(body)
		w.Write([]byte(`{}`))
		return
	}
	http.NotFound(w, r)
}

func TestVespaExportVisitsEveryPageAndRestoreFeedsItBack(t *testing.T) {
	v := &standInVespa{fed: map[string]string{}, docs: map[string]json.RawMessage{
		"id:video:video_frame::a":       json.RawMessage(`{"title":"a"}`),
		"id:video:video_frame::b":       json.RawMessage(`{"title":"b"}`),
		"id:video:video_frame:g=acme:c": json.RawMessage(`{"title":"c"}`),
	}}
	srv := httptest.NewServer(v)
	defer srv.Close()
	env, root := backupsEnv(t)
	env["VESPA_URL"] = srv.URL
	runBackup(t, env, "b1", "vespa")
	lines, _ := os.ReadFile(filepath.Join(root, "b1/vespa/documents.jsonl"))
	if n := strings.Count(string(lines), "\n"); n != 3 || !strings.Contains(string(lines), `{"fields":{"title":"c"},"put":"id:video:video_frame:g=acme:c"}`) {
		t.Fatalf("export:\n%s", lines)
	}
	code, stderr, out := invoke(t, env, "restore-vespa", "--backup-dir", "/backups", "--backup-id", "b1")
	if code != 0 || out["restored-count"] != "3" {
		t.Fatalf("exit %d %s %v", code, stderr, out)
	}
	if got := v.fed["/document/v1/video/video_frame/group/acme/c"]; got != `{"fields":{"title":"c"}}` {
		t.Errorf("fed %v", v.fed)
	}
}

func TestBackupOfAnUnreachableVespaLeavesNoManifest(t *testing.T) {
	env, root := backupsEnv(t)
	env["VESPA_URL"] = "http://127.0.0.1:1"
	code, stderr, _ := invoke(t, env, "backup-vespa", "--backup-dir", "/backups", "--backup-id", "b1")
	if code != 1 || !strings.Contains(stderr, "incomplete (no manifest)") || exists(root, "b1/vespa.complete") || exists(root, "b1/vespa") {
		t.Errorf("exit %d %s", code, stderr)
	}
}

func TestScalePhoenixPatchesOnlyTheScaleSubresourceAndWaitsForZero(t *testing.T) {
	var mu sync.Mutex
	var patches []string
	gets := 0
	f := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path != "/apis/apps/v1/namespaces/cogniverse/deployments/cv-phoenix/scale" {
			http.NotFound(w, r)
			return
		}
		if r.Method == http.MethodPatch {
			body, _ := io.ReadAll(r.Body)
			patches = append(patches, r.Header.Get("Content-Type")+" "+string(body))
		}
		if r.Method == http.MethodGet {
			gets++
		}
		replicas := 0
		if gets < 2 { // the pod is still there at the first look
			replicas = 1
		}
		json.NewEncoder(w).Encode(map[string]any{"status": map[string]int{"replicas": replicas}})
	})
	env := kubeStandIn(t, f)
	code, stderr, out := invoke(t, env, "scale-phoenix", "--deployment", "cv-phoenix", "--replicas", "0")
	if code != 0 || out["replicas"] != "0" || gets != 2 {
		t.Fatalf("exit %d %s %v (requests %d)", code, stderr, out, gets)
	}
	if len(patches) != 1 || patches[0] != `application/merge-patch+json {"spec":{"replicas":0}}` {
		t.Errorf("patches %v", patches)
	}
	if code, stderr, _ := invoke(t, env, "scale-phoenix", "--deployment", "cv-phoenix", "--replicas", "3"); code != 2 || !strings.Contains(stderr, "--replicas") {
		t.Errorf("replicas 3: exit %d %s", code, stderr)
	}
}

// kubeStandIn serves handler as the Kubernetes API over TLS and returns a pod's environment for it.
func kubeStandIn(t *testing.T, handler http.Handler) map[string]string {
	srv := httptest.NewTLSServer(handler)
	t.Cleanup(srv.Close)
	sa := t.TempDir()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	files := map[string][]byte{"token": []byte("t"), "namespace": []byte("cogniverse"), "ca.crt": ca}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(sa, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	u, _ := url.Parse(srv.URL)
	return map[string]string{"KUBERNETES_SERVICE_HOST": u.Hostname(), "KUBERNETES_SERVICE_PORT": u.Port(), "COGNIVERSE_SERVICEACCOUNT_DIR": sa}
}

func TestVerifyRefusesAComponentWithoutBackups(t *testing.T) {
	env, _ := backupsEnv(t)
	code, stderr, _ := verify(t, env, "latest", "vespa,runtime")
	if code != 2 || !strings.Contains(stderr, `"runtime" is not a component with backups`) {
		t.Errorf("exit %d %s", code, stderr)
	}
}
