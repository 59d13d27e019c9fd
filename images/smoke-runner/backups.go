package main

// Backups on the backups volume (docs/step-contract.md, docs/operations.md).
//
// Layout:  <backup-dir>/<backup-id>/.cogniverse-backup     (written first)
//          <backup-dir>/<backup-id>/<component>/...        (the data)
//          <backup-dir>/<backup-id>/<component>.complete   (the manifest, written last)
// The manifest is JSON: component, backup-id, format, software, version, time, size and every file's
// path, size and sha256. A backup is complete for a component when its manifest exists; it is
// intact when every file it lists has the listed size and sha256. prune-backups deletes only
// folders holding .cogniverse-backup, never a complete backup among the newest keep-latest, and
// nothing at all unless the backup it was told about is complete. verify-backup resolves
// `latest` to the newest backup complete for the chosen components and refuses any backup that is
// incomplete or corrupted, before the restore workflow changes anything.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

const backupTag = ".cogniverse-backup"

// Manifest is the content of <component>.complete.
type Manifest struct {
	Component string         `json:"component"`
	BackupID  string         `json:"backup-id"`
	Format    string         `json:"format"`
	Software  string         `json:"software"`
	Version   string         `json:"version"`
	Time      string         `json:"time"`
	Size      int64          `json:"size"`
	Files     []ManifestFile `json:"files"`
}

// ManifestFile is one file of a backup, relative to <backup-dir>/<backup-id>/.
type ManifestFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	Sha256 string `json:"sha256"`
}

// hostPath maps a path under BackupsMount onto the filesystem (COGNIVERSE_BACKUPS_MOUNT lets tests
// use a temporary folder; in the pod the volume is mounted at /backups itself).
func hostPath(env func(string) string, p string) string {
	root := env("COGNIVERSE_BACKUPS_MOUNT")
	if root == "" {
		return filepath.Clean(p)
	}
	return filepath.Join(root, strings.TrimPrefix(filepath.Clean(p), BackupsMount))
}

// writeFileAtomic writes, fsyncs and renames: a reader sees the old file or the whole new one.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

func fileSha256(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return n, hex.EncodeToString(h.Sum(nil)), err
}

// componentWriter is what a backup step exports into <set>/<component>/: the files it wrote
// (relative to the set), the format and the version of the software the data came from.
type componentWriter func(dir string, env func(string) string) (files []string, format, version string, err error)

// backup runs one component's export with the layout's rules: old manifest removed first, the
// data, then the manifest. A failure removes this run's folder of the component and nothing else.
func backup(what string, export componentWriter) func(map[string]string, func(string) string) (map[string]string, error) {
	return func(a map[string]string, env func(string) string) (map[string]string, error) {
		set := filepath.Join(hostPath(env, a["backup-dir"]), a["backup-id"])
		marker := filepath.Join(set, what+".complete")
		folder := filepath.Join(set, what)
		// A retry starts over: the manifest goes first, so a half-written retry is never "complete".
		if err := os.Remove(marker); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("backup-%s: cannot remove the old manifest: %w", what, err)
		}
		fail := func(err error) (map[string]string, error) {
			os.RemoveAll(folder)
			why := err.Error()
			if strings.Contains(why, "no space left") {
				why = "the backups volume is full (" + why + ")"
			}
			return nil, fmt.Errorf("backup-%s: %s; backup %s is incomplete (no manifest) and its %s folder was removed; earlier complete backups are untouched", what, why, a["backup-id"], what)
		}
		if err := os.MkdirAll(folder, 0o755); err != nil {
			return fail(err)
		}
		if err := os.WriteFile(filepath.Join(set, backupTag), []byte(a["backup-id"]), 0o644); err != nil {
			return fail(err)
		}
		files, format, ver, err := export(folder, env)
		if err != nil {
			return fail(err)
		}
		m := Manifest{Component: what, BackupID: a["backup-id"], Format: format, Software: what, Version: ver,
			Time: time.Now().UTC().Format(time.RFC3339)}
		for _, name := range files {
			size, sum, err := fileSha256(filepath.Join(folder, name))
			if err != nil {
				return fail(err)
			}
			m.Files = append(m.Files, ManifestFile{Path: what + "/" + name, Size: size, Sha256: sum})
			m.Size += size
		}
		data, _ := json.MarshalIndent(m, "", " ")
		if err := writeFileAtomic(marker, data); err != nil {
			os.Remove(marker + ".tmp")
			return fail(fmt.Errorf("cannot write the manifest: %w", err))
		}
		return map[string]string{"backup-path": strings.TrimRight(a["backup-dir"], "/") + "/" + a["backup-id"] + "/" + what}, nil
	}
}

// standIn is the export of a component this image has no real source for (the smoke profile runs
// without Vespa and Phoenix): one small JSON file, format "stand-in", so the layout, manifests,
// checksums, pruning and the restore's refusals are exercised all the same.
func standIn(what string) componentWriter {
	return func(dir string, _ func(string) string) ([]string, string, string, error) {
		data, _ := json.Marshal(map[string]string{"component": what, "stand-in": "smoke-runner: no " + what + " to export"})
		return []string{"data.json"}, "stand-in", version, writeFileAtomic(filepath.Join(dir, "data.json"), data)
	}
}

// readManifest reads and checks <set>/<component>.complete; the error names what is wrong.
func readManifest(set, id, component string) (*Manifest, error) {
	if _, err := os.Stat(filepath.Join(set, backupTag)); err != nil {
		return nil, fmt.Errorf("no backup %s (no %s in it)", id, backupTag)
	}
	raw, err := os.ReadFile(filepath.Join(set, component+".complete"))
	if err != nil {
		return nil, fmt.Errorf("backup %s is incomplete: %s has no manifest (%s.complete)", id, component, component)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil || m.Component != component || len(m.Files) == 0 {
		return nil, fmt.Errorf("backup %s: the manifest %s.complete is unreadable or lists no file", id, component)
	}
	return &m, nil
}

// verifyComponent checks every file of a manifest against its size and sha256.
func verifyComponent(set, id, component string) (*Manifest, error) {
	m, err := readManifest(set, id, component)
	if err != nil {
		return nil, err
	}
	for _, f := range m.Files {
		if !strings.HasPrefix(f.Path, component+"/") || strings.Contains(f.Path, "..") {
			return nil, fmt.Errorf("backup %s: the manifest of %s names a file outside its folder: %q", id, component, f.Path)
		}
		size, sum, err := fileSha256(filepath.Join(set, f.Path))
		if err != nil {
			return nil, fmt.Errorf("backup %s is corrupted: %s is missing (%v)", id, f.Path, err)
		}
		if size != f.Size || sum != f.Sha256 {
			return nil, fmt.Errorf("backup %s is corrupted: %s has sha256 %.16s... (%d bytes), its manifest says %.16s... (%d bytes)", id, f.Path, sum, size, f.Sha256, f.Size)
		}
	}
	return m, nil
}

type backupSet struct {
	id       string
	complete bool
	at       time.Time // newest manifest of a complete backup; the folder's time otherwise
}

// scanBackups lists the backup sets under dir, complete meaning a manifest for every component.
func scanBackups(dir string, comps []string) ([]backupSet, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var sets []backupSet
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(path, backupTag)); err != nil {
			continue // not ours: never touched
		}
		s := backupSet{id: e.Name(), complete: true}
		for _, c := range comps {
			st, err := os.Stat(filepath.Join(path, c+".complete"))
			if err != nil {
				s.complete = false
				break
			}
			if st.ModTime().After(s.at) {
				s.at = st.ModTime()
			}
		}
		if !s.complete {
			st, err := os.Stat(path)
			if err != nil {
				return nil, err
			}
			s.at = st.ModTime()
		}
		sets = append(sets, s)
	}
	sort.SliceStable(sets, func(i, j int) bool { return sets[i].at.After(sets[j].at) })
	return sets, nil
}

func componentList(v string) []string {
	if v == "" {
		return []string{"vespa", "phoenix"}
	}
	return strings.Split(v, ",")
}

// Prune removes backups older than retention-days, keeping the newest keep-latest complete ones.
func Prune(a map[string]string, env func(string) string, now time.Time) (map[string]string, error) {
	dir := hostPath(env, a["backup-dir"])
	keep, _ := strconv.Atoi(a["keep-latest"])
	days, _ := strconv.Atoi(a["retention-days"])
	sets, err := scanBackups(dir, componentList(a["components"]))
	if err != nil {
		return nil, fmt.Errorf("prune-backups: cannot read %s: %w", a["backup-dir"], err)
	}
	current := false
	for _, s := range sets {
		current = current || (s.id == a["backup-id"] && s.complete)
	}
	if !current && a["backup-id"] != "" {
		return nil, fmt.Errorf("prune-backups: backup %s is not complete (a marker of %s is missing): nothing pruned", a["backup-id"], a["components"])
	}
	kept := map[string]bool{}
	for _, s := range sets {
		if s.complete && len(kept) < keep {
			kept[s.id] = true
		}
	}
	pruned := 0
	cutoff := now.Add(-time.Duration(days) * 24 * time.Hour)
	for _, s := range sets {
		if kept[s.id] || !s.at.Before(cutoff) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, s.id)); err != nil {
			return nil, fmt.Errorf("prune-backups: cannot remove %s: %w", s.id, err)
		}
		pruned++
	}
	return map[string]string{"pruned-count": strconv.Itoa(pruned), "kept-count": strconv.Itoa(len(sets) - pruned)}, nil
}

// verifyBackup resolves backup-id (`latest`: the newest backup complete for the chosen components)
// and checks every chosen component's files. Exit 1 with the reason, and nothing changed, otherwise.
func verifyBackup(a map[string]string, env func(string) string) (map[string]string, error) {
	dir := hostPath(env, a["backup-dir"])
	comps := componentList(a["components"])
	chosen := map[string]bool{}
	for _, c := range comps {
		if c != "vespa" && c != "phoenix" {
			return nil, usageErr("--components %q: %q is not a component with backups (vespa, phoenix)", a["components"], c)
		}
		chosen[c] = true
	}
	id := a["backup-id"]
	if id == "latest" {
		sets, err := scanBackups(dir, comps)
		if err != nil {
			return nil, fmt.Errorf("verify-backup: cannot read %s: %w", a["backup-dir"], err)
		}
		for _, s := range sets {
			if s.complete {
				id = s.id
				break
			}
		}
		if id == "latest" {
			return nil, fmt.Errorf("verify-backup: %s holds no backup complete for %s: nothing to restore, nothing changed", a["backup-dir"], a["components"])
		}
	}
	set := filepath.Join(dir, id)
	var total int64
	for _, c := range comps {
		m, err := verifyComponent(set, id, c)
		if err != nil {
			return nil, fmt.Errorf("verify-backup: %v: refusing to restore it, nothing changed", err)
		}
		total += m.Size
	}
	fmt.Fprintf(os.Stderr, "verify-backup: backup %s is complete and intact for %s (%d bytes)\n", id, a["components"], total)
	return map[string]string{"backup-id": id, "phoenix": strconv.FormatBool(chosen["phoenix"]), "vespa": strconv.FormatBool(chosen["vespa"])}, nil
}
