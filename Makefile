# nsguard — keep Kubernetes namespaces from getting stuck in Terminating.
# `make help` lists the targets.

GO          ?= go
BIN         ?= $(CURDIR)/bin
NSGUARD     ?= $(BIN)/nsguard
K8S_VERSION ?= v1.37.2
K8S_BIN     ?= $(BIN)/k8s/$(K8S_VERSION)
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -s -w -X github.com/nsguard/nsguard/internal/version.Version=$(VERSION)
# make test fuzzes the manifest reader for a number of runs, not a time:
# with a duration, Go's fuzzing coordinator can fail at the deadline with
# "context deadline exceeded" and no failing input (golang/go#75804).
TEST_FUZZTIME ?= 3000x
# make fuzz fuzzes each target for this long (a duration or a count).
FUZZTIME    ?= 2m
# End-to-end tests use the control-plane binaries built by k8s-bin unless
# KUBEBUILDER_ASSETS points elsewhere.
export KUBEBUILDER_ASSETS ?= $(K8S_BIN)

.DEFAULT_GOAL := help

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Demo

.PHONY: demo
demo: build k8s-bin ## Start a local control plane and watch nsguard catch, explain and un-stick a namespace.
	$(GO) run ./hack/demo -nsguard $(NSGUARD)

##@ Build

.PHONY: build
build: ## Build bin/nsguard and bin/kubectl-nsguard (the kubectl plugin).
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(NSGUARD) ./cmd/nsguard
	ln -sf nsguard $(BIN)/kubectl-nsguard

.PHONY: k8s-bin
k8s-bin: $(K8S_BIN)/kube-apiserver ## Build etcd, kube-apiserver, kube-controller-manager and kubectl from Go module sources into bin/k8s.

$(K8S_BIN)/kube-apiserver:
	hack/build-k8s.sh $(K8S_BIN)

##@ Test

.PHONY: test
test: k8s-bin vet docs-check ## Run every test: unit, Rego, CLI, fuzz seeds, end-to-end against a real control plane.
	$(GO) test -count=1 -timeout 30m ./...
	$(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(TEST_FUZZTIME) -fuzzminimizetime 500x ./lint
	$(GO) test -run '^$$' -fuzz '^FuzzHandler$$' -fuzztime $(TEST_FUZZTIME) -fuzzminimizetime 500x ./webhook
	$(MAKE) chart-test

.PHONY: test-unit
test-unit: ## Run the tests that need no control plane.
	$(GO) test -short -count=1 ./...

.PHONY: test-e2e
test-e2e: k8s-bin ## Run the end-to-end tests against a real control plane.
	$(GO) test -count=1 -timeout 30m -v ./test/e2e/...

.PHONY: fuzz
fuzz: ## Fuzz the manifest reader, the catalog parser and the webhook's handler longer (FUZZTIME=5m make fuzz).
	$(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./lint
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./policies/catalog
	$(GO) test -run '^$$' -fuzz '^FuzzHandler$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./webhook

##@ Lint

.PHONY: lint
lint: fmt-check vet policy-check ## gofmt, go vet, and opa fmt/check on the policies.

.PHONY: fmt-check
fmt-check: ## Fail when gofmt would change a file.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

.PHONY: vet
vet: ## go vet every package.
	$(GO) vet ./...

.PHONY: policy-check
policy-check: ## Check that the Rego policies are formatted (opa fmt) and compile strictly (opa check).
	$(GO) run ./hack/policycheck policies examples/custom-policy

##@ Docs

.PHONY: docs
docs: ## Regenerate docs/rules.md from the rule metadata.
	$(GO) run ./hack/gendocs

.PHONY: docs-check
docs-check: ## Fail when docs/rules.md is stale.
	$(GO) run ./hack/gendocs -check

##@ Chart

HELM        ?= $(BIN)/helm
HELM_MODULE := helm.sh/helm/v4

.PHONY: helm
helm: $(HELM) ## Build the pinned helm (hack/tools/helm/go.mod) into ./bin.

# helm has a module of its own so that its dependencies never mix with
# nsguard's; its version is stamped from that go.mod.
$(HELM): hack/tools/helm/go.mod hack/tools/helm/go.sum
	cd hack/tools/helm && \
		CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X $(HELM_MODULE)/internal/version.version=$$($(GO) list -m -f '{{.Version}}' $(HELM_MODULE))" \
		-o $(abspath $(HELM)) $(HELM_MODULE)/cmd/helm

.PHONY: chart-test
chart-test: helm k8s-bin ## Lint and render charts/nsguard over a matrix of values, apply it to a real control plane, and run nsguard as its service account.
	HELM=$(HELM) $(GO) test -count=1 -timeout 10m ./test/chart

##@ Image and release

IMAGE          ?= ghcr.io/nsguard/nsguard:$(VERSION)
CONTAINER_TOOL ?= docker
DIST           ?= $(CURDIR)/dist
# Platforms of the release archives (and of the krew manifest).
PLATFORMS      ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64
RELEASE_URL    ?= https://github.com/nsguard/nsguard/releases/download
KREW_MANIFEST  ?= plugins/krew/nsguard.yaml

.PHONY: docker-build
docker-build: ## Build the container image (IMAGE=ghcr.io/nsguard/nsguard:VERSION) from the Dockerfile; needs a container engine.
	$(CONTAINER_TOOL) build --build-arg VERSION=$(VERSION) -t $(IMAGE) .

.PHONY: dist
dist: ## Build the release archives dist/kubectl-nsguard_VERSION_OS_ARCH.tar.gz, built as make build builds.
	rm -rf $(DIST) && mkdir -p $(DIST)
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		dir=$(DIST)/kubectl-nsguard_$(VERSION)_$${os}_$${arch}; mkdir -p $$dir; \
		echo "build $$os/$$arch"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $$dir/kubectl-nsguard$$ext ./cmd/nsguard; \
		cp README.md $$dir/; \
		tar -C $$dir --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - . | gzip -n > $$dir.tar.gz; \
		rm -rf $$dir; \
	done

# The krew manifest of a release: $(KREW_MANIFEST) with the
# version, each platform's URL and the sha256 of its archive in dist/.
# Release: tag vX.Y.Z, make dist krew-manifest VERSION=vX.Y.Z, upload
# dist/*, commit the manifest, and open a pull request to krew-index with it.
.PHONY: krew-manifest
krew-manifest: ## Fill plugins/krew/nsguard.yaml's version, URLs and sha256s from the dist/ archives (after make dist).
	@set -e; m=$(KREW_MANIFEST); \
	sed -i -E 's|^(  version: ).*|\1$(VERSION)|' $$m; \
	for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; \
		f=kubectl-nsguard_$(VERSION)_$${os}_$${arch}.tar.gz; \
		[ -f $(DIST)/$$f ] || { echo "krew-manifest: $(DIST)/$$f is missing: run make dist VERSION=$(VERSION)"; exit 1; }; \
		sum=$$(sha256sum $(DIST)/$$f | cut -d' ' -f1); \
		sed -i -E "/# $$os\/$$arch\$$/,/sha256:/{s|(uri: ).*|\1$(RELEASE_URL)/$(VERSION)/$$f|;s|(sha256: ).*|\1$$sum|}" $$m; \
		echo "$$os/$$arch $$sum"; \
	done

##@ Clean

.PHONY: clean
clean: ## Remove bin/ (the control-plane binaries too).
	rm -rf $(BIN)

# Benchmarks (bench, bench-lint, bench-diagnose) live in their own file.
-include hack/bench.mk
