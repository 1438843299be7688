# Benchmarks: nsguard lint against conftest, nsguard diagnose and the
# admission webhook (nsguard serve) against the kubectl recipe, and the
# remediator (nsguard serve --components remediator) on stuck namespaces.
# Included from the Makefile, which defines BIN, GO, NSGUARD (built by
# `build`) and K8S_BIN (built by `k8s-bin`). docs/benchmarks.md explains
# what is measured and holds the latest figures.

##@ Benchmarks

CONFTEST ?= $(BIN)/conftest
CONFTEST_MODULE := github.com/open-policy-agent/conftest
# Measured runs of each command (after one warm-up run); the best is reported.
BENCH_RUNS ?= 5
BENCH_RECIPE_RUNS ?= 3
# Measured dry-run deletions of each namespace per webhook mode (fewer when
# a series passes its time; see hack/bench/webhookbench -h).
BENCH_WEBHOOK_REPS ?= 200
BENCH_DIR ?= $(BIN)/bench

BENCH_LINT = $(GO) run ./hack/bench/lintbench -nsguard $(NSGUARD) -conftest $(CONFTEST) \
	-policy hack/bench/conftest-policy -corpus $(BENCH_DIR)/corpus \
	-runs $(BENCH_RUNS) -results $(BENCH_DIR)/lint.json
BENCH_DIAGNOSE = $(GO) run ./hack/bench/diagnosebench -nsguard $(NSGUARD) -k8s-bin $(K8S_BIN) \
	-runs $(BENCH_RUNS) -recipe-runs $(BENCH_RECIPE_RUNS) -results $(BENCH_DIR)/diagnose.json
BENCH_WEBHOOK = $(GO) run ./hack/bench/webhookbench -nsguard $(NSGUARD) -k8s-bin $(K8S_BIN) \
	-reps $(BENCH_WEBHOOK_REPS) -recipe-runs $(BENCH_RECIPE_RUNS) -results $(BENCH_DIR)/webhook.json
BENCH_REMEDIATE = $(GO) run ./hack/bench/remediatebench -nsguard $(NSGUARD) -k8s-bin $(K8S_BIN) \
	-results $(BENCH_DIR)/remediate.json

# One recipe, not prerequisites, so that make -j never runs the
# benchmarks at the same time on the same cores.
.PHONY: bench
bench: build conftest k8s-bin ## Run every benchmark and print the figures (docs/benchmarks.md).
	$(BENCH_LINT)
	$(BENCH_DIAGNOSE)
	$(BENCH_WEBHOOK)
	$(BENCH_REMEDIATE)

.PHONY: bench-lint
bench-lint: build conftest ## Compare nsguard lint with conftest on a generated corpus of 10,000+ objects in 500 files.
	$(BENCH_LINT)

.PHONY: bench-diagnose
bench-diagnose: build k8s-bin ## Compare nsguard diagnose with the kubectl recipe on a namespace of 2,000 objects over 100+ types.
	$(BENCH_DIAGNOSE)

.PHONY: bench-webhook
bench-webhook: build k8s-bin ## Measure the admission webhook's latency, CPU and memory through the API server, in a cluster of 50,000+ objects (about 10 min).
	$(BENCH_WEBHOOK)

.PHONY: bench-remediate
bench-remediate: build k8s-bin ## Measure the remediator on 1, 10 and 100 stuck namespaces: stuck to gone, CPU, memory, API requests per namespace (about 5 min).
	$(BENCH_REMEDIATE)

.PHONY: conftest
conftest: $(CONFTEST) ## Build the pinned conftest (hack/tools/conftest/go.mod) into ./bin.

# conftest has a module of its own so that its dependencies never mix with
# nsguard's; its version is stamped from that go.mod.
$(CONFTEST): hack/tools/conftest/go.mod hack/tools/conftest/go.sum
	cd hack/tools/conftest && \
		$(GO) build -ldflags "-X $(CONFTEST_MODULE)/internal/version.Version=$$($(GO) list -m -f '{{.Version}}' $(CONFTEST_MODULE))" \
		-o $(abspath $(CONFTEST)) $(CONFTEST_MODULE)
