#!/usr/bin/env bash
# Builds the local Kubernetes control plane used by the end-to-end tests:
# etcd, kube-apiserver, kube-controller-manager and kubectl, from Go module
# sources pinned in hack/etcd/go.mod and hack/k8s/go.mod.
#
# usage: hack/build-k8s.sh [OUTDIR]
#
# OUTDIR defaults to bin/k8s/$K8S_VERSION under the repository root (a
# relative OUTDIR given on the command line is taken from the current
# directory). Nothing is built when all four binaries are already there.
# A cold build takes several minutes; with a warm Go build cache, seconds.
#
# To move to other versions: change K8S_VERSION / ETCD_VERSION below; in
# hack/k8s/go.mod change the k8s.io/kubernetes requirement and every
# staging replace (k8s.io/kubernetes v1.X.Y pairs with v0.X.Y), in
# hack/etcd/go.mod the etcd requirement; run `go mod tidy` in each; and set
# KubernetesVersion in test/controlplane to K8S_VERSION.
set -euo pipefail

K8S_VERSION=v1.37.2
ETCD_VERSION=v3.7.3

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BINARIES=(etcd kube-apiserver kube-controller-manager kubectl)

die() {
	echo "build-k8s: error: $*" >&2
	exit 1
}

if [[ $# -gt 1 ]]; then
	die "usage: hack/build-k8s.sh [OUTDIR]"
fi
if [[ $# -eq 1 ]]; then
	OUTDIR=$1
	[[ $OUTDIR == /* ]] || OUTDIR=$PWD/$OUTDIR
else
	OUTDIR=$ROOT/bin/k8s/$K8S_VERSION
fi

command -v go >/dev/null || die "go is not on PATH"

# The tool modules must pin the versions named above, or the binaries in
# OUTDIR would not be what its name and the version stamps say.
check_pin() { # dir module want
	local got
	got=$(go -C "$ROOT/$1" list -m -f '{{.Version}}' "$2") ||
		die "cannot read the version of $2 from $1/go.mod"
	[[ $got == "$3" ]] ||
		die "$1/go.mod pins $2 $got but this script wants $3; update $1/go.mod (and its staging replaces) and run 'go mod tidy' there"
}

# version_of NAME PATH: the first line of the binary's own version report.
# The whole report is read before the first line is taken: piping into
# `head -n1` would close the pipe early, and a binary that writes a second
# line then dies of SIGPIPE, which pipefail reports as a failure.
version_of() {
	local out
	case $1 in
	kubectl) out=$("$2" version --client) || return ;;
	*) out=$("$2" --version) || return ;;
	esac
	printf '%s\n' "${out%%$'\n'*}"
}

want_version() {
	if [[ $1 == etcd ]]; then echo "${ETCD_VERSION#v}"; else echo "$K8S_VERSION"; fi
}

missing=0
for b in "${BINARIES[@]}"; do
	[[ -x $OUTDIR/$b ]] || missing=1
done

status=present
if [[ $missing -eq 1 ]]; then
	status=built
	check_pin hack/k8s k8s.io/kubernetes "$K8S_VERSION"
	staging=$(go -C "$ROOT/hack/k8s" list -m -f '{{with .Replace}}{{.Version}}{{end}}' k8s.io/api) ||
		die "cannot read the k8s.io/api replace from hack/k8s/go.mod"
	[[ $staging == "v0.${K8S_VERSION#v1.}" ]] ||
		die "hack/k8s/go.mod replaces the staging modules with $staging, want v0.${K8S_VERSION#v1.}"
	check_pin hack/etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION"

	k8s_minor=${K8S_VERSION#v1.}
	k8s_minor=${k8s_minor%%.*}
	# Same stamps as Kubernetes' hack/lib/version.sh; without them /version
	# reports v0.0.0-master and kubectl and clients reject the server.
	k8s_ldflags="-s -w"
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		k8s_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION"
		k8s_ldflags+=" -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
		k8s_ldflags+=" -X $pkg.gitTreeState=clean"
		k8s_ldflags+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"
	done
	etcd_ldflags="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION"

	mkdir -p "$OUTDIR"
	tmp=$(mktemp -d "$OUTDIR/.build.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT

	export CGO_ENABLED=0
	echo "build-k8s: building etcd $ETCD_VERSION and Kubernetes $K8S_VERSION into $OUTDIR" >&2
	go build -C "$ROOT/hack/etcd" -trimpath -ldflags "$etcd_ldflags" \
		-o "$tmp/etcd" go.etcd.io/etcd/server/v3 ||
		die "building etcd $ETCD_VERSION failed"
	go build -C "$ROOT/hack/k8s" -trimpath -ldflags "$k8s_ldflags" -o "$tmp/" \
		k8s.io/kubernetes/cmd/kube-apiserver \
		k8s.io/kubernetes/cmd/kube-controller-manager \
		k8s.io/kubernetes/cmd/kubectl ||
		die "building Kubernetes $K8S_VERSION failed"
	for b in "${BINARIES[@]}"; do
		[[ -x $tmp/$b ]] || die "the build produced no $b"
		mv -f "$tmp/$b" "$OUTDIR/$b"
	done
fi

for b in "${BINARIES[@]}"; do
	v=$(version_of "$b" "$OUTDIR/$b" 2>&1) || die "$OUTDIR/$b does not run: $v"
	[[ $v == *"$(want_version "$b")"* ]] ||
		die "$OUTDIR/$b reports '$v', want $(want_version "$b"); delete $OUTDIR and run again"
	printf '%-8s %-24s %-28s %s\n' "$status" "$b" "$v" "$OUTDIR/$b"
done
