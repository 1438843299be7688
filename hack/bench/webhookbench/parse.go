package main

import (
	"bufio"
	"encoding/json"
	"strings"
	"time"
)

// logEntry is what the benchmark reads of nsguard serve's log lines: the
// decision (level 0) and the cache's snapshot (level 2) of each request.
type logEntry struct {
	Msg       string `json:"msg"`
	Namespace string `json:"namespace"`
	Duration  string `json:"duration"`
	Result    string `json:"result"`
	Complete  bool   `json:"complete"`
	Objects   int    `json:"objects"`
	Requests  int    `json:"requests"`
}

// decisionLog is the decisions and snapshots logged for one namespace.
type decisionLog struct {
	decisions []time.Duration
	snapshots []time.Duration
	results   map[string]int
	// incomplete counts decisions on a snapshot that missed something.
	incomplete int
	// objects and requests are those of the last snapshot: what it held
	// (the namespace's objects and the cluster-wide facts) and the API
	// requests it made.
	objects, requests int
}

// parseLog reads the JSON log lines of nsguard serve for namespace ns.
func parseLog(text, ns string) decisionLog {
	d := decisionLog{results: map[string]int{}}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var e logEntry
		if json.Unmarshal(line, &e) != nil || e.Namespace != ns {
			continue
		}
		took, err := time.ParseDuration(e.Duration)
		if err != nil {
			continue
		}
		switch e.Msg {
		case "decision":
			d.decisions = append(d.decisions, took)
			d.results[e.Result]++
			if !e.Complete {
				d.incomplete++
			}
		case "snapshot from cache":
			d.snapshots = append(d.snapshots, took)
			d.objects, d.requests = e.Objects, e.Requests
		}
	}
	return d
}

// slope fits y = a + b·x by least squares and returns b (0 with fewer than
// two distinct x).
func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	if len(xs) < 2 || len(xs) != len(ys) {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		sxy += xs[i] * ys[i]
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / den
}
