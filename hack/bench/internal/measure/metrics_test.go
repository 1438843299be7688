package measure

import "testing"

func TestMetricSum(t *testing.T) {
	text := `# HELP nsguard_cache_objects Objects held by the inventory cache, by resource.
# TYPE nsguard_cache_objects gauge
nsguard_cache_objects{resource="pods"} 120
nsguard_cache_objects{resource="widgets.apps.bench.example.io"} 3000
nsguard_cache_objects_other 7
go_memstats_heap_inuse_bytes 1.2e+07
`
	if n, ok := MetricSum(text, "nsguard_cache_objects"); !ok || n != 3120 {
		t.Fatalf("nsguard_cache_objects = %v, %t; want 3120", n, ok)
	}
	if n, ok := MetricSum(text, "go_memstats_heap_inuse_bytes"); !ok || n != 12e6 {
		t.Fatalf("heap = %v, %t", n, ok)
	}
	if _, ok := MetricSum(text, "absent"); ok {
		t.Fatal("found an absent metric")
	}
}

func TestMetricSamples(t *testing.T) {
	text := `# TYPE rest_client_requests_total counter
rest_client_requests_total{code="200",host="127.0.0.1:34567",method="GET"} 41
rest_client_requests_total{code="201",host="127.0.0.1:34567",method="POST"} 3
rest_client_requests_total{code="409", host="a,b}c",method="PUT"} 1
rest_client_requests_total{code="200",host="x\"y",method="GET"} 2
rest_client_requests_total{code="500" 9
`
	s := MetricSamples(text, "rest_client_requests_total")
	if len(s) != 4 {
		t.Fatalf("%d samples: %+v", len(s), s)
	}
	if s[0].Labels["method"] != "GET" || s[0].Labels["code"] != "200" || s[0].Value != 41 {
		t.Errorf("first sample %+v", s[0])
	}
	if s[2].Labels["host"] != "a,b}c" || s[2].Labels["method"] != "PUT" || s[2].Value != 1 {
		t.Errorf("third sample %+v", s[2])
	}
	if s[3].Labels["host"] != `x"y` || s[3].Value != 2 {
		t.Errorf("fourth sample %+v", s[3])
	}
}

func TestParseSizes(t *testing.T) {
	got, err := ParseSizes("sizes", "10, 1000,5000")
	if err != nil || len(got) != 3 || got[0] != 10 || got[2] != 5000 {
		t.Fatalf("ParseSizes = %v, %v", got, err)
	}
	for _, bad := range []string{"", "10,,20", "0", "x"} {
		if _, err := ParseSizes("sizes", bad); err == nil {
			t.Errorf("ParseSizes(%q) gave no error", bad)
		}
	}
}
