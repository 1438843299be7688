module github.com/nsguard/nsguard/hack/bench/lintbench/yamllibs

go 1.26.0

require (
	github.com/goccy/go-yaml v1.19.2
	github.com/nsguard/nsguard v0.0.0
	go.yaml.in/yaml/v3 v3.0.6
	sigs.k8s.io/yaml v1.6.0
)

require go.yaml.in/yaml/v2 v2.4.4 // indirect

replace github.com/nsguard/nsguard => ../../../..
