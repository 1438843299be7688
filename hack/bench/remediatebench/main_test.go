package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestStuck(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	early := nsTimes{Deleted: t0, Condition: t0.Add(5 * time.Second)}
	if got := early.stuck(10 * time.Second); !got.Equal(t0.Add(10 * time.Second)) {
		t.Errorf("condition before --stuck-after: stuck at %s", got.Sub(t0))
	}
	late := nsTimes{Deleted: t0, Condition: t0.Add(40 * time.Second)}
	if got := late.stuck(10 * time.Second); !got.Equal(t0.Add(40 * time.Second)) {
		t.Errorf("condition after --stuck-after: stuck at %s", got.Sub(t0))
	}
	if got := (nsTimes{Deleted: t0}).stuck(10 * time.Second); !got.IsZero() {
		t.Errorf("never stuck: %s", got)
	}
}

func TestSummarize(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	r := runResult{Namespaces: 3, Times: []nsTimes{
		{Deleted: at(0), Condition: at(5), Removed: at(20), Gone: at(25)},
		{Deleted: at(0), Condition: at(6), Removed: at(22), Gone: at(30)},
		{Deleted: at(0), Gone: at(3)}, // went before it was stuck
	}}
	r.summarize(10 * time.Second)
	if r.NeverStuck != 1 {
		t.Errorf("never stuck %d, want 1", r.NeverStuck)
	}
	if r.GoneAfterStuck.P50 != 15*time.Second || r.GoneAfterStuck.Max != 20*time.Second {
		t.Errorf("gone − stuck %+v", r.GoneAfterStuck)
	}
	if r.GoneAfterDeletion.Max != 30*time.Second || r.GoneAfterDeletion.P50 != 25*time.Second {
		t.Errorf("gone − deletion %+v", r.GoneAfterDeletion)
	}
	if r.RemovedAfterStuck.P50 != 10*time.Second || r.GoneAfterRemoved.Max != 8*time.Second {
		t.Errorf("removed − stuck %+v, gone − removed %+v", r.RemovedAfterStuck, r.GoneAfterRemoved)
	}
}

func TestRequests(t *testing.T) {
	before := restRequests(`rest_client_requests_total{code="200",host="127.0.0.1:1",method="GET"} 40
rest_client_requests_total{code="200",host="127.0.0.1:1",method="PUT"} 10
`)
	after := restRequests(`rest_client_requests_total{code="200",host="127.0.0.1:1",method="GET"} 52
rest_client_requests_total{code="200",host="127.0.0.1:1",method="PUT"} 10
rest_client_requests_total{code="200",host="127.0.0.1:1",method="PATCH"} 3
`)
	d := after.since(before)
	if d.total() != 15 || d["GET 200"] != 12 || d["PATCH 200"] != 3 || len(d) != 2 {
		t.Fatalf("since: %v", d)
	}
}

func TestReadAudit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	lines := `{"auditID":"a","stage":"ResponseComplete","verb":"get","requestURI":"/api/v1/namespaces/s/configmaps/state","userAgent":"nsguard/v0.0.0 (linux/amd64) kubernetes/$Format","objectRef":{"resource":"configmaps","namespace":"s","name":"state","apiVersion":"v1"},"requestReceivedTimestamp":"2026-12-01T12:00:01.000000Z"}
{"auditID":"b","stage":"ResponseComplete","verb":"update","requestURI":"/apis/coordination.k8s.io/v1/namespaces/s/leases/l","userAgent":"nsguard/v0.0.0 (linux/amd64) kubernetes/$Format/leader-election","objectRef":{"resource":"leases","apiGroup":"coordination.k8s.io"},"requestReceivedTimestamp":"2026-12-01T12:00:02.000000Z"}
{"auditID":"c","stage":"ResponseStarted","verb":"watch","requestURI":"/api/v1/namespaces?watch=true","userAgent":"nsguard nsguard/v0.0.0 (linux/amd64) kubernetes/$Format","objectRef":{"resource":"namespaces"},"requestReceivedTimestamp":"2026-12-01T12:00:03.000000Z"}
{"auditID":"c","stage":"ResponseComplete","verb":"watch","requestURI":"/api/v1/namespaces?watch=true","userAgent":"nsguard nsguard/v0.0.0 (linux/amd64) kubernetes/$Format","objectRef":{"resource":"namespaces"},"requestReceivedTimestamp":"2026-12-01T12:00:03.000000Z"}
{"auditID":"d","stage":"ResponseComplete","verb":"get","requestURI":"/apis?timeout=32s","userAgent":"nsguard/v0.0.0 (linux/amd64) kubernetes/$Format","requestReceivedTimestamp":"2026-12-01T12:00:04.000000Z"}
{"auditID":"e","stage":"ResponseComplete","verb":"delete","requestURI":"/api/v1/namespaces/x","userAgent":"remediatebench/v0.0.0 (linux/amd64) kubernetes/$Format","objectRef":{"resource":"namespaces"},"requestReceivedTimestamp":"2026-12-01T12:00:05.000000Z"}
{"auditID":"f","stage":"ResponseComplete","verb":"get","requestURI":"/api/v1/namespaces/s/configmaps/state","userAgent":"nsguard/v0.0.0 (linux/amd64) kubernetes/$Format","objectRef":{"resource":"configmaps"},"requestReceivedTimestamp":"2026-12-01T12:00:09.000000Z"}
not json
`
	if err := os.WriteFile(path, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 12, 1, 12, 0, 1, 0, time.UTC)
	c, err := readAudit(path, from, from.Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"get configmaps": 1, "update leases.coordination.k8s.io": 1, "watch namespaces": 1, "get /apis": 1}
	if c.Total != 4 || c.LeaderElection != 1 || len(c.ByRequest) != len(want) {
		t.Fatalf("got %+v", c)
	}
	for k, n := range want {
		if c.ByRequest[k] != n {
			t.Errorf("%s: %d, want %d", k, c.ByRequest[k], n)
		}
	}
}

func TestParseActivity(t *testing.T) {
	text := `{"logger":"controller-runtime/healthz","level":1,"msg":"healthz check failed","checker":"ready","error":"caches not synced"}
{"logger":"remediator","level":1,"msg":"pass","namespace":"rm10-000","age":"10s"}
{"logger":"remediator","level":1,"msg":"pass","namespace":"rm10-000","age":"15s"}
{"logger":"remediator","level":1,"msg":"pass","namespace":"rm10-001","age":"10s"}
{"logger":"remediator","level":0,"msg":"remediated","namespace":"rm10-000"}
{"logger":"remediator","level":0,"msg":"remediation failed","namespace":"rm10-001","error":"patch: conflict"}
{"logger":"remediator","level":1,"msg":"pass","namespace":"other","age":"10s"}
{"logger":"","level":0,"msg":"Reconciler error","controller":"nsguard-remediator","error":"snapshot of rm10-001: boom"}
not json
`
	a := parseActivity(text, map[string]bool{"rm10-000": true, "rm10-001": true})
	want := activity{Passes: 3, MaxPasses: 2, Remediated: 1, Failed: 1, Errors: 2}
	if a != want {
		t.Fatalf("got %+v, want %+v", a, want)
	}
}
