package inventory

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// crdCacheFormat is bumped whenever what crdMap keeps changes, so that a
// cache written by another nsguard version is ignored rather than misread.
const crdCacheFormat = 1

// crdCache keeps, per cluster, the CRDs of the last snapshot as crdMap
// reduces them (no schemas), each with the UID and resourceVersion it was
// read at. Every write to a CRD (spec, status or metadata) changes its
// resourceVersion, and a re-created CRD has a new UID, so an entry that
// matches both is exactly what a full read would return. A cheap
// metadata-only LIST then tells which CRDs must be read in full again:
// on a cluster with operators' CRDs a full LIST is megabytes of schemas
// that the API server converts, encodes and compresses on every call,
// and that a remote client downloads, only to throw them away.
type crdCache struct {
	path string // "" when there is no usable cache directory
}

type crdCacheFile struct {
	Format int             `json:"format"`
	Host   string          `json:"host"`
	CRDs   []crdCacheEntry `json:"crds"`
}

type crdCacheEntry struct {
	UID             string         `json:"uid"`
	ResourceVersion string         `json:"resourceVersion"`
	Object          map[string]any `json:"object"`
}

// newCRDCache returns the cache of the cluster at host under dir.
func newCRDCache(dir, host string) crdCache {
	if dir == "" {
		return crdCache{}
	}
	sum := sha256.Sum256([]byte(host))
	return crdCache{path: filepath.Join(dir, "crds", hex.EncodeToString(sum[:12])+".json")}
}

// load returns the cached CRDs by UID; a missing, unreadable or outdated
// file is an empty cache.
func (c crdCache) load(host string) map[string]crdCacheEntry {
	if c.path == "" {
		return nil
	}
	b, err := os.ReadFile(c.path)
	if err != nil {
		return nil
	}
	var f crdCacheFile
	// util/json decodes whole numbers as int64, as the dynamic client and
	// the unstructured converter do, so cached objects trim like read ones.
	if err := utiljson.Unmarshal(b, &f); err != nil || f.Format != crdCacheFormat || f.Host != host {
		return nil
	}
	out := make(map[string]crdCacheEntry, len(f.CRDs))
	for _, e := range f.CRDs {
		if e.UID != "" && e.ResourceVersion != "" && e.Object != nil {
			out[e.UID] = e
		}
	}
	return out
}

// store replaces the cache with entries. The file is written aside and
// renamed, so a concurrent reader sees the old or the new one, never half.
func (c crdCache) store(host string, entries []crdCacheEntry) error {
	if c.path == "" {
		return nil
	}
	b, err := json.Marshal(crdCacheFile{Format: crdCacheFormat, Host: host, CRDs: entries})
	if err != nil {
		return fmt.Errorf("encode CRD cache: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o750); err != nil {
		return fmt.Errorf("write CRD cache: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".crds-*")
	if err != nil {
		return fmt.Errorf("write CRD cache: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write CRD cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write CRD cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		return fmt.Errorf("write CRD cache: %w", err)
	}
	pruneStale(filepath.Dir(c.path), time.Now().Add(-crdCacheMaxAge))
	return nil
}

// crdCacheMaxAge: the cache of a cluster not diagnosed for that long is
// removed, so short-lived clusters (CI, tests) leave nothing behind for good.
const crdCacheMaxAge = 30 * 24 * time.Hour

// pruneStale removes the cache files last written before cutoff; errors
// only mean that something stays.
func pruneStale(dir string, cutoff time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() && info.ModTime().Before(cutoff) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// DefaultCacheDir is nsguard's directory under the user's cache directory
// ("" when there is none, e.g. without $HOME in a container).
func DefaultCacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "nsguard")
}
