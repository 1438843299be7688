// Command demo shows nsguard at work on a real local control plane (etcd,
// kube-apiserver and kube-controller-manager built from source by
// `make k8s-bin`): the linter catches in CI a namespace that would hang,
// the admission webhook denies its deletion (and previews it with a
// server-side dry run), warn mode lets a deletion through with warnings,
// nsguard delete tears the namespace down in the safe order, and the
// remediator un-sticks a namespace that break-glass forced through.
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
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/nsguard/nsguard/internal/ansi"
	"github.com/nsguard/nsguard/test/controlplane"
)

//go:embed manifests/*.yaml
var manifests embed.FS

type options struct {
	nsguard string
	keep    bool
	out     io.Writer
	color   bool
}

func main() {
	opts := options{out: os.Stdout, color: term.IsTerminal(int(os.Stdout.Fd()))}
	flag.StringVar(&opts.nsguard, "nsguard", "bin/nsguard", "path to the nsguard binary")
	flag.BoolVar(&opts.keep, "keep", false, "keep the control plane and nsguard running until interrupted (prints the kubeconfig)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	began := time.Now()
	if err := run(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	fmt.Fprintf(opts.out, "\ndemo done in %s\n", time.Since(began).Round(time.Second))
}

// demo holds what the steps share.
type demo struct {
	options
	cp  *controlplane.ControlPlane
	bin string
	dir string
	env []string
}

const (
	widgets   = "widgets.demo.nsguard.io"
	orphanFin = "gadgets.demo.nsguard.io/finalizer"
	selector  = "demo.nsguard.io/webhook"
)

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
	d := &demo{options: o, bin: bin, dir: dir}
	if err := d.writeManifests(); err != nil {
		return err
	}

	d.step("1. In CI: nsguard lint finds what would make a namespace hang, before it reaches a cluster")
	d.show("nsguard lint shop.yaml")
	if err := d.nsguard(ctx, "lint", "--fail-on", "never", "shop.yaml"); err != nil {
		return err
	}

	d.step("2. A local control plane (etcd, kube-apiserver, kube-controller-manager, built from source) and nsguard serve")
	if d.cp, err = controlplane.Start(ctx, controlplane.Options{}); err != nil {
		return fmt.Errorf("start control plane: %w", err)
	}
	defer d.cp.Stop()
	d.env = append(os.Environ(), "KUBECONFIG="+d.cp.Kubeconfig(), "PATH="+d.cp.BinDir()+string(os.PathListSeparator)+os.Getenv("PATH"))
	fmt.Fprintf(d.out, "control plane started in %s\n", d.cp.StartedIn().Round(100*time.Millisecond))
	enforce, err := d.serve(ctx, "enforce",
		"--components", "webhook,remediator", "--config", filepath.Join(dir, "config.yaml"), "--state-namespace", "nsguard-system",
		"--remediation", "on", "--remediation-actions", "remove-finalizer", "--allow-finalizer", orphanFin,
		"--stuck-after", "10s", "--controller-gone-after", "10s", "--recheck-interval", "3s")
	if err != nil {
		return err
	}
	defer enforce.Stop()
	warn, err := d.serve(ctx, "warn", "--components", "webhook", "--mode", "warn")
	if err != nil {
		return err
	}
	defer warn.Stop()
	fmt.Fprintln(d.out, "nsguard serve runs next to it: its webhook is registered by URL with a generated CA, and its remediator is on")
	fmt.Fprintln(d.out, "  for namespaces labelled nsguard.io/remediation=enabled (remove-finalizer only, after 10 s stuck and 10 s proven gone)")
	for _, f := range []string{"shop.yaml", "staging.yaml", "legacy.yaml"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		if err := d.cp.Apply(ctx, string(data)); err != nil {
			return fmt.Errorf("apply %s: %w", f, err)
		}
	}
	for _, ns := range []string{"shop", "staging"} {
		// No kubelet runs here: report the operator's pod ready, as one would be.
		if _, err := d.cp.ReportPodReady(ctx, ns, "app=widget-operator"); err != nil {
			return err
		}
		if err := d.cp.WaitReadyReplicas(ctx, ns, "widget-operator", 1); err != nil {
			return err
		}
	}
	stopOperators := d.playOperators(ctx, "shop", "staging")
	defer stopOperators()
	fmt.Fprintln(d.out, "applied shop.yaml and staging.yaml (an operator in the namespace of the Widgets it finalizes, running) and legacy.yaml")

	d.step("3. kubectl delete namespace shop: denied, with the blocker and the safe first step")
	d.show("kubectl delete namespace shop")
	if err := d.kubectl(ctx, "delete", "namespace", "shop", "--wait=false"); err != nil {
		return err
	}

	d.step("4. A preview nobody else offers: the same answer with --dry-run=server, nothing deleted")
	d.show("kubectl delete namespace shop --dry-run=server")
	if err := d.kubectl(ctx, "delete", "namespace", "shop", "--dry-run=server"); err != nil {
		return err
	}

	d.step("5. The pre-flight check in full: nsguard diagnose")
	d.show("nsguard diagnose shop")
	if err := d.nsguard(ctx, "diagnose", "shop"); err != nil {
		return err
	}

	d.step("6. In warn mode (another nsguard, for namespace staging) the deletion goes through, with warnings")
	d.show("kubectl delete namespace staging")
	if err := d.kubectl(ctx, "delete", "namespace", "staging", "--wait=false"); err != nil {
		return err
	}

	d.step("7. nsguard delete: the safe teardown, Widgets first while their operator still runs, then the namespace")
	d.show("nsguard delete shop --yes")
	if err := d.nsguard(ctx, "delete", "shop", "--yes"); err != nil {
		return err
	}

	d.step("8. Break-glass: a platform admin forces the deletion of legacy, whose operator was uninstalled first")
	d.show(`kubectl annotate namespace legacy nsguard.io/allow-deletion="decommissioned; gadget operator already removed"`)
	if err := d.kubectl(ctx, "annotate", "namespace", "legacy", "nsguard.io/allow-deletion=decommissioned; gadget operator already removed"); err != nil {
		return err
	}
	d.show("kubectl delete namespace legacy --as=alice --as-group=platform-admins")
	if err := d.kubectl(ctx, "delete", "namespace", "legacy", "--wait=false", "--as=alice", "--as-group=platform-admins"); err != nil {
		return err
	}
	if err := d.waitStuck(ctx, "legacy"); err != nil {
		return err
	}
	d.show("nsguard diagnose legacy")
	if err := d.nsguard(ctx, "diagnose", "legacy"); err != nil {
		return err
	}

	d.step("9. The remediator un-sticks it: the orphaned finalizer goes once its controller has been proven gone for 10 s")
	if err := d.waitGone(ctx, "legacy", 2*time.Minute); err != nil {
		return err
	}
	fmt.Fprintln(d.out, "The remediator's Events about namespace legacy, its record of what it did and why:")
	if err := d.events(ctx, "legacy"); err != nil {
		return err
	}

	if o.keep {
		d.step("The control plane and nsguard keep running until you press Ctrl-C")
		fmt.Fprintf(d.out, "export KUBECONFIG=%s\n", d.cp.Kubeconfig())
		<-ctx.Done()
	}
	return nil
}

// writeManifests writes the demo's manifests and nsguard's configuration.
func (d *demo) writeManifests() error {
	for _, name := range []string{"shop.yaml", "legacy.yaml"} {
		data, err := manifests.ReadFile("manifests/" + name)
		if err != nil {
			return fmt.Errorf("read demo manifest: %w", err)
		}
		if err := os.WriteFile(filepath.Join(d.dir, name), data, 0o644); err != nil {
			return fmt.Errorf("write demo manifest: %w", err)
		}
		if name == "shop.yaml" {
			// staging is shop again, guarded by the warn-mode webhook.
			staging := strings.ReplaceAll(strings.ReplaceAll(string(data), "namespace: shop", "namespace: staging"), "name: shop\n", "name: staging\n")
			staging = strings.ReplaceAll(staging, selector+": enforce", selector+": warn")
			if err := os.WriteFile(filepath.Join(d.dir, "staging.yaml"), []byte(staging), 0o644); err != nil {
				return fmt.Errorf("write demo manifest: %w", err)
			}
		}
	}
	return os.WriteFile(filepath.Join(d.dir, "config.yaml"), []byte("breakGlass:\n  groups: [platform-admins]\n"), 0o644)
}

// serve starts an nsguard serve for the namespaces labelled for it.
func (d *demo) serve(ctx context.Context, name string, args ...string) (*controlplane.Webhook, error) {
	if name == "enforce" {
		if _, err := d.cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "nsguard-system"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, err
		}
	}
	w, err := d.cp.StartWebhook(ctx, controlplane.WebhookOptions{Binary: d.bin, Name: "nsguard-demo-" + name, Selector: map[string]string{selector: name}, Args: args})
	if err != nil {
		return nil, fmt.Errorf("start nsguard serve (%s): %w", name, err)
	}
	return w, nil
}

// playOperators plays the widget operator of each namespace, which this
// control plane cannot run (no kubelet): while its Deployment has a ready
// replica, it removes the finalizer of Widgets being deleted, after its
// cleanup. Once the Deployment is gone, nothing removes it any more.
func (d *demo) playOperators(ctx context.Context, namespaces ...string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	res := d.cp.Dynamic.Resource(schema.GroupVersionResource{Group: "demo.nsguard.io", Version: "v1", Resource: "widgets"})
	for _, ns := range namespaces {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(300 * time.Millisecond):
				}
				dep, err := d.cp.Client.AppsV1().Deployments(ns).Get(ctx, "widget-operator", metav1.GetOptions{})
				if err != nil || dep.DeletionTimestamp != nil || dep.Status.ReadyReplicas == 0 {
					continue
				}
				list, err := res.Namespace(ns).List(ctx, metav1.ListOptions{})
				if err != nil {
					continue
				}
				for _, w := range list.Items {
					if w.GetDeletionTimestamp() != nil && len(w.GetFinalizers()) > 0 {
						w.SetFinalizers(nil)
						_, _ = res.Namespace(ns).Update(ctx, &w, metav1.UpdateOptions{})
					}
				}
			}
		})
	}
	return func() { cancel(); wg.Wait() }
}

// waitStuck waits until the namespace controller reports finalizers left.
func (d *demo) waitStuck(ctx context.Context, ns string) error {
	start := time.Now()
	err := d.cp.WaitFor(ctx, 90*time.Second, 500*time.Millisecond, func(ctx context.Context) (bool, error) {
		n, err := d.cp.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NamespaceFinalizersRemaining && c.Status == corev1.ConditionTrue {
				fmt.Fprintf(d.out, "after %s, namespace %s is stuck: %s\n", time.Since(start).Round(time.Second), ns, c.Message)
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("wait for namespace %s to hang: %w", ns, err)
	}
	return nil
}

func (d *demo) waitGone(ctx context.Context, ns string, timeout time.Duration) error {
	start := time.Now()
	err := d.cp.WaitFor(ctx, timeout, 500*time.Millisecond, func(ctx context.Context) (bool, error) {
		_, err := d.cp.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		return fmt.Errorf("wait for namespace %s to go: %w", ns, err)
	}
	fmt.Fprintf(d.out, "namespace %s is gone %s later\n", ns, time.Since(start).Round(time.Second))
	return nil
}

// events prints the remediator's Events about a namespace.
func (d *demo) events(ctx context.Context, ns string) error {
	list, err := d.cp.Client.EventsV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "regarding.name=" + ns})
	if err != nil {
		return fmt.Errorf("list events: %w", err)
	}
	for _, e := range list.Items {
		if e.Regarding.Kind != "Namespace" {
			continue
		}
		fmt.Fprintf(d.out, "  %-20s %s\n", e.Reason, e.Note)
	}
	return nil
}

func (d *demo) step(title string) {
	fmt.Fprintf(d.out, "\n%s\n", ansi.Paint(d.color, ansi.Bold, "== "+title))
}

func (d *demo) show(cmd string) {
	fmt.Fprintln(d.out, ansi.Paint(d.color, ansi.Dim, "$ "+cmd))
}

// nsguard runs the binary; its findings exit code (1) is part of the show.
func (d *demo) nsguard(ctx context.Context, args ...string) error {
	return d.sh(ctx, d.bin, args...)
}

// kubectl runs the control plane's kubectl; a refusal (exit 1) is part of
// the show.
func (d *demo) kubectl(ctx context.Context, args ...string) error {
	return d.sh(ctx, filepath.Join(d.cp.BinDir(), "kubectl"), args...)
}

func (d *demo) sh(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr, cmd.Env, cmd.Dir = d.out, d.out, d.env, d.dir
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		return fmt.Errorf("%s %v: %w", filepath.Base(name), args, err)
	}
	return nil
}
