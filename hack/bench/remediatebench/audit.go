package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// auditPolicy has the API server record every request of the
// administrators (system:masters: the remediator, and this benchmark's own
// client) at the Metadata level, once per request, and nothing of the
// controllers; the remediator's are told apart by their user agent.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    userGroups: ["system:masters"]
  - level: None
`

// nsguardAgent is in the user agent of every client of the nsguard binary:
// client-go's default starts with the command's name and version
// ("nsguard/v…"), the leader election's adds "/leader-election", and the
// inventory's clients put "nsguard " before it.
const nsguardAgent = "nsguard/"

// auditCounts is what the audit log says the remediator asked for in a
// window.
type auditCounts struct {
	Total int `json:"total"`
	// ByRequest counts by "verb resource" (e.g. "get configmaps",
	// "patch widget1s.apps.bench.example.io"), or "verb /path" for
	// requests about no object.
	ByRequest map[string]int `json:"byRequest"`
	// LeaderElection counts the leader-election client's requests: its
	// Lease renewals, every 2 s whatever the namespaces.
	LeaderElection int `json:"leaderElection"`
}

type auditEvent struct {
	AuditID    string `json:"auditID"`
	Verb       string `json:"verb"`
	RequestURI string `json:"requestURI"`
	UserAgent  string `json:"userAgent"`
	ObjectRef  *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		APIGroup    string `json:"apiGroup"`
	} `json:"objectRef"`
	Received time.Time `json:"requestReceivedTimestamp"`
}

// readAudit counts the requests of the nsguard binary received in
// [from, to) in the audit log at path. A watch is logged at its start and
// at its end: each request counts once, by its audit ID.
func readAudit(path string, from, to time.Time) (auditCounts, error) {
	f, err := os.Open(path)
	if err != nil {
		return auditCounts{}, fmt.Errorf("read the audit log: %w", err)
	}
	defer f.Close()
	c := auditCounts{ByRequest: map[string]int{}}
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	for sc.Scan() {
		var e auditEvent
		if json.Unmarshal(sc.Bytes(), &e) != nil || !strings.Contains(e.UserAgent, nsguardAgent) || seen[e.AuditID] {
			continue
		}
		if e.Received.Before(from) || !e.Received.Before(to) {
			continue
		}
		seen[e.AuditID] = true
		c.Total++
		c.ByRequest[e.Verb+" "+e.what()]++
		if strings.HasSuffix(e.UserAgent, "/leader-election") {
			c.LeaderElection++
		}
	}
	if err := sc.Err(); err != nil {
		return c, fmt.Errorf("read the audit log: %w", err)
	}
	return c, nil
}

func (e auditEvent) what() string {
	if e.ObjectRef == nil || e.ObjectRef.Resource == "" {
		path, _, _ := strings.Cut(e.RequestURI, "?")
		return path
	}
	s := e.ObjectRef.Resource
	if e.ObjectRef.APIGroup != "" {
		s += "." + e.ObjectRef.APIGroup
	}
	if e.ObjectRef.Subresource != "" {
		s += "/" + e.ObjectRef.Subresource
	}
	return s
}
