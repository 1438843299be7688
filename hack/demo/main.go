// Command demo shows nsguard at work on a real local control plane (etcd,
// kube-apiserver and kube-controller-manager built from source by
// `make k8s-bin`): the linter catches a namespace that would hang in CI,
// diagnose warns before the deletion, and explains — with a safe fix — a
// namespace that is already stuck.
//
//	go run ./hack/demo -nsguard bin/nsguard [-keep]
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nsguard/nsguard/test/controlplane"
)

//go:embed manifests/*.yaml
var manifests embed.FS

type options struct {
	nsguard string
	keep    bool
	out     io.Writer
}

func main() {
	opts := options{out: os.Stdout}
	flag.StringVar(&opts.nsguard, "nsguard", "bin/nsguard", "path to the nsguard binary")
	flag.BoolVar(&opts.keep, "keep", false, "keep the control plane running until interrupted (prints its kubeconfig)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	bin, err := filepath.Abs(o.nsguard)
	if err != nil {
		return fmt.Errorf("nsguard binary: %w", err)
	}
	dir, err := os.MkdirTemp("", "nsguard-demo-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	for _, name := range []string{"shop.yaml", "legacy.yaml"} {
		data, err := manifests.ReadFile("manifests/" + name)
		if err != nil {
			return fmt.Errorf("read demo manifest: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("write demo manifest: %w", err)
		}
	}
	shop, legacy := filepath.Join(dir, "shop.yaml"), filepath.Join(dir, "legacy.yaml")

	step(o.out, "1. In CI: nsguard lint finds what would make a namespace hang, before it reaches a cluster")
	show(o.out, "nsguard lint shop.yaml")
	if err := sh(ctx, o.out, dir, nil, bin, "lint", "--fail-on", "never", "shop.yaml"); err != nil {
		return err
	}

	step(o.out, "2. A local control plane: etcd, kube-apiserver, kube-controller-manager (built from source)")
	cp, err := controlplane.Start(ctx, controlplane.Options{})
	if err != nil {
		return fmt.Errorf("start control plane: %w", err)
	}
	defer cp.Stop()
	fmt.Fprintf(o.out, "started in %s\n", cp.StartedIn().Round(100*time.Millisecond))
	env := append(os.Environ(), "KUBECONFIG="+cp.Kubeconfig())
	for _, f := range []string{shop, legacy} {
		data, _ := os.ReadFile(f)
		if err := cp.Apply(ctx, string(data)); err != nil {
			return fmt.Errorf("apply %s: %w", filepath.Base(f), err)
		}
	}
	// No kubelet runs here: report the operator's pod ready, as one would be.
	if _, err := cp.ReportPodReady(ctx, "shop", "app=widget-operator"); err != nil {
		return err
	}
	if err := cp.WaitReadyReplicas(ctx, "shop", "widget-operator", 1); err != nil {
		return err
	}
	fmt.Fprintln(o.out, "applied shop.yaml (its operator is running) and legacy.yaml anyway")

	step(o.out, "3. Before deleting a namespace: nsguard diagnose is the pre-flight check")
	show(o.out, "nsguard diagnose shop")
	if err := sh(ctx, o.out, "", env, bin, "diagnose", "shop"); err != nil {
		return err
	}

	step(o.out, "4. A namespace that is already stuck: its operator was uninstalled first")
	show(o.out, "kubectl delete namespace legacy --wait=false")
	if _, err := cp.Kubectl(ctx, "delete", "namespace", "legacy", "--wait=false"); err != nil {
		return fmt.Errorf("delete namespace legacy: %w", err)
	}
	start := time.Now()
	err = cp.WaitFor(ctx, 90*time.Second, 500*time.Millisecond, func(ctx context.Context) (bool, error) {
		ns, err := cp.Client.CoreV1().Namespaces().Get(ctx, "legacy", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range ns.Status.Conditions {
			if c.Type == corev1.NamespaceFinalizersRemaining && c.Status == corev1.ConditionTrue {
				fmt.Fprintf(o.out, "after %s the namespace is stuck: %s\n", time.Since(start).Round(time.Second), c.Message)
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("wait for namespace legacy to hang: %w", err)
	}
	show(o.out, "nsguard diagnose legacy")
	if err := sh(ctx, o.out, "", env, bin, "diagnose", "legacy"); err != nil {
		return err
	}

	step(o.out, "5. Following the plan's step: remove that one finalizer (its controller is gone for good)")
	patch := `[{"op":"test","path":"/metadata/finalizers/0","value":"gadgets.demo.nsguard.io/finalizer"},{"op":"remove","path":"/metadata/finalizers/0"}]`
	show(o.out, "kubectl patch gadgets.demo.nsguard.io/old-gadget -n legacy --type=json -p '"+patch+"'")
	out, err := cp.Kubectl(ctx, "patch", "gadgets.demo.nsguard.io/old-gadget", "-n", "legacy", "--type=json", "-p", patch)
	if err != nil {
		return fmt.Errorf("patch: %w", err)
	}
	o.out.Write(out)
	start = time.Now()
	err = cp.WaitFor(ctx, 90*time.Second, 500*time.Millisecond, func(ctx context.Context) (bool, error) {
		_, err := cp.Client.CoreV1().Namespaces().Get(ctx, "legacy", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		return fmt.Errorf("wait for namespace legacy to go: %w", err)
	}
	fmt.Fprintf(o.out, "namespace legacy is gone %s later\n", time.Since(start).Round(time.Second))

	if o.keep {
		step(o.out, "The control plane keeps running until you press Ctrl-C")
		fmt.Fprintf(o.out, "export KUBECONFIG=%s\n", cp.Kubeconfig())
		<-ctx.Done()
	}
	return nil
}

func step(w io.Writer, title string) { fmt.Fprintf(w, "\n\033[1m== %s\033[0m\n", title) }

func show(w io.Writer, cmd string) { fmt.Fprintf(w, "$ %s\n", cmd) }

// sh runs nsguard; its findings exit codes (1) are part of the show.
func sh(ctx context.Context, w io.Writer, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr, cmd.Env, cmd.Dir = w, w, env, dir
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		return fmt.Errorf("%s %v: %w", filepath.Base(name), args, err)
	}
	return nil
}
