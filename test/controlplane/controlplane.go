// Package controlplane runs a real, local Kubernetes control plane for the
// end-to-end tests and benchmarks of nsguard: etcd, kube-apiserver and
// kube-controller-manager as child processes on loopback addresses and
// random free ports, plus kubectl to drive it from the command line.
//
// The binaries are built from Go module sources by hack/build-k8s.sh
// (`make k8s-bin`) into bin/k8s/<KubernetesVersion>. etcd and
// kube-apiserver are started through controller-runtime's envtest;
// kube-controller-manager, which envtest does not know about, is started
// next to them so that namespaces really go through Terminating: the
// namespace controller empties them and the garbage collector honours owner
// references and the orphan/foreground finalizers.
//
// There is no scheduler and no kubelet: pods are never scheduled nor run.
// Tests fake workload readiness by writing status subresources (with the
// deployment and replicaset controllers running, write it on the Pods; the
// controllers derive the ReplicaSet and Deployment status from them).
//
// Typical use, one control plane per test package:
//
//	var cluster *controlplane.ControlPlane
//
//	func TestMain(m *testing.M) { os.Exit(controlplane.Main(m, &cluster, controlplane.Options{})) }
//
// or one per test with StartForTest.
package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// KubernetesVersion is the version of the binaries that hack/build-k8s.sh
// builds; the default binary directory is bin/k8s/<KubernetesVersion> under
// the repository root. Keep it equal to K8S_VERSION in that script.
const KubernetesVersion = "v1.37.2"

// module is the module path of the repository root's go.mod; it tells the
// root apart from nested tool modules such as hack/k8s.
const module = "github.com/nsguard/nsguard"

// FieldManager is the field manager Apply uses for server-side apply.
const FieldManager = "nsguard-e2e"

// Options configures Start. The zero value is a complete control plane with
// the binaries found as described at BinDir.
type Options struct {
	// BinDir holds etcd, kube-apiserver, kube-controller-manager and
	// kubectl. If empty: $KUBEBUILDER_ASSETS when set, otherwise
	// bin/k8s/<KubernetesVersion> under the repository root, found by
	// walking up from the working directory.
	BinDir string

	// SkipControllerManager starts only etcd and kube-apiserver, as plain
	// envtest does. Deleted namespaces then stay Terminating forever.
	SkipControllerManager bool

	// Controllers replaces DefaultControllers as the controllers that
	// kube-controller-manager runs (its --controllers flag).
	Controllers []string

	// ControllerManagerArgs are extra kube-controller-manager flags, such
	// as "--concurrent-namespace-syncs=2"; they override the defaults.
	ControllerManagerArgs []string

	// APIServerArgs are extra kube-apiserver flags in the form
	// "--name=value"; they override envtest's defaults.
	APIServerArgs []string

	// LogDir receives etcd.log, kube-apiserver.log and
	// kube-controller-manager.log. If empty, Start makes a temporary
	// directory and Stop removes it; a LogDir given here is left alone.
	LogDir string
}

// ControlPlane is a running control plane. Its clients act as a cluster
// administrator (a user in system:masters). Stop it with Stop.
type ControlPlane struct {
	// Config is the administrator's client configuration.
	Config *rest.Config
	// Client is a typed clientset built from Config.
	Client kubernetes.Interface
	// Dynamic is a dynamic client built from Config.
	Dynamic dynamic.Interface
	// Mapper maps kinds to resources from the API server's discovery. Apply
	// resets it after it creates CustomResourceDefinitions; call Reset
	// yourself after creating them in other ways.
	Mapper meta.ResettableRESTMapper

	binDir     string
	workDir    string // removed by Stop
	logDir     string
	ownLogDir  bool
	kubeconfig string
	startedIn  time.Duration

	env      *envtest.Environment
	kcm      *managedProcess
	reaper   *reaper
	logFiles []*os.File

	stopOnce sync.Once
	stopErr  error
}

// Start starts etcd, kube-apiserver and (unless SkipControllerManager)
// kube-controller-manager, and waits until they serve; each has 60 s. ctx
// can cut the wait for kube-controller-manager short; it does not bound the
// control plane's life, which lasts until Stop.
func Start(ctx context.Context, opts Options) (_ *ControlPlane, retErr error) {
	began := time.Now()
	binDir, err := resolveBinDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	need := []string{"etcd", "kube-apiserver", "kubectl"}
	if !opts.SkipControllerManager {
		need = append(need, "kube-controller-manager")
	}
	if err := checkBinaries(binDir, need); err != nil {
		return nil, err
	}

	cp := &ControlPlane{binDir: binDir, logDir: opts.LogDir}
	defer func() {
		if retErr != nil {
			_ = cp.Stop()
		}
	}()
	if cp.workDir, err = os.MkdirTemp("", "nsguard-controlplane-"); err != nil {
		return nil, err
	}
	if cp.logDir == "" {
		if cp.logDir, err = os.MkdirTemp("", "nsguard-controlplane-logs-"); err != nil {
			return nil, err
		}
		cp.ownLogDir = true
	} else if err := os.MkdirAll(cp.logDir, 0o755); err != nil {
		return nil, err
	}
	// Kills the children and removes their directories should this process
	// die without calling Stop (a test time-out, a signal).
	cp.reaper = startReaper()
	cp.reaper.watchDir(cp.workDir)

	etcdLog, err := cp.openLog("etcd.log")
	if err != nil {
		return nil, err
	}
	apiLog, err := cp.openLog("kube-apiserver.log")
	if err != nil {
		return nil, err
	}

	cp.env = &envtest.Environment{
		BinaryAssetsDirectory: binDir,
		ControlPlane: envtest.ControlPlane{
			// envtest makes (and removes) etcd's data directory and the
			// apiserver's certificate directory itself: with directories
			// given here, its retry after a failed start would reuse the
			// certificates without knowing their CA.
			Etcd: &envtest.Etcd{
				Path: filepath.Join(binDir, "etcd"),
				Out:  etcdLog,
				Err:  etcdLog,
			},
			APIServer: &envtest.APIServer{
				Path: filepath.Join(binDir, "kube-apiserver"),
				Out:  apiLog,
				Err:  apiLog,
			},
			KubectlPath: filepath.Join(binDir, "kubectl"),
		},
		ControlPlaneStartTimeout: 60 * time.Second,
		ControlPlaneStopTimeout:  20 * time.Second,
	}
	apiArgs := cp.env.ControlPlane.APIServer.Configure()
	for _, a := range opts.APIServerArgs {
		name, value, ok := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !ok || !strings.HasPrefix(a, "--") {
			return nil, fmt.Errorf("controlplane: APIServerArgs: %q is not of the form --name=value", a)
		}
		apiArgs.Set(name, value)
	}

	before := childPIDs()
	_, startErr := cp.env.Start()
	// Register whatever envtest launched, even when Start failed half way.
	for _, pid := range newChildPIDs(before, "etcd", "kube-apiserver") {
		cp.reaper.watchPID(pid)
	}
	cp.reaper.watchDir(cp.env.ControlPlane.Etcd.DataDir)
	cp.reaper.watchDir(cp.env.ControlPlane.APIServer.CertDir)
	if startErr != nil {
		return nil, fmt.Errorf("controlplane: starting etcd and kube-apiserver: %w%s", startErr, cp.tailHint())
	}

	cp.Config = rest.CopyConfig(cp.env.Config)
	if cp.Client, err = kubernetes.NewForConfig(cp.Config); err != nil {
		return nil, err
	}
	if cp.Dynamic, err = dynamic.NewForConfig(cp.Config); err != nil {
		return nil, err
	}
	cp.Mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cp.Client.Discovery()))

	cp.kubeconfig = filepath.Join(cp.workDir, "admin.kubeconfig")
	if err := os.WriteFile(cp.kubeconfig, cp.env.KubeConfig, 0o600); err != nil {
		return nil, err
	}

	if !opts.SkipControllerManager {
		if err := cp.startControllerManager(ctx, opts); err != nil {
			return nil, err
		}
	}
	cp.startedIn = time.Since(began)
	return cp, nil
}

// Stop stops kube-controller-manager, kube-apiserver and etcd, and removes
// their data, certificates and kubeconfigs, and the log directory if Start
// made it. It is safe to call more than once.
func (cp *ControlPlane) Stop() error {
	cp.stopOnce.Do(func() {
		var errs []error
		if cp.kcm != nil {
			if err := cp.kcm.stop(20 * time.Second); err != nil {
				errs = append(errs, fmt.Errorf("stopping kube-controller-manager: %w", err))
			}
		}
		if cp.env != nil {
			if err := cp.env.Stop(); err != nil {
				errs = append(errs, fmt.Errorf("stopping kube-apiserver and etcd: %w", err))
			}
		}
		for _, f := range cp.logFiles {
			_ = f.Close()
		}
		if cp.workDir != "" {
			if err := os.RemoveAll(cp.workDir); err != nil {
				errs = append(errs, err)
			}
		}
		if cp.ownLogDir {
			_ = os.RemoveAll(cp.logDir)
		}
		if cp.reaper != nil {
			cp.reaper.disarm()
		}
		cp.stopErr = errors.Join(errs...)
	})
	return cp.stopErr
}

// Kubeconfig returns the path of an administrator kubeconfig file, for
// kubectl and for the nsguard CLI's --kubeconfig.
func (cp *ControlPlane) Kubeconfig() string { return cp.kubeconfig }

// BinDir returns the directory the binaries were taken from.
func (cp *ControlPlane) BinDir() string { return cp.binDir }

// LogDir returns the directory holding the components' logs.
func (cp *ControlPlane) LogDir() string { return cp.logDir }

// StartedIn returns how long Start took.
func (cp *ControlPlane) StartedIn() time.Duration { return cp.startedIn }

// Kubectl runs the kubectl in BinDir as the administrator and returns its
// standard output; a failure carries its standard error.
func (cp *ControlPlane) Kubectl(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(cp.binDir, "kubectl"),
		append([]string{"--kubeconfig=" + cp.kubeconfig}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// AddUser provisions a client-certificate user with the given name and
// groups (no permissions beyond those RBAC grants them) and returns its
// client configuration and the path of a kubeconfig file for it.
func (cp *ControlPlane) AddUser(name string, groups ...string) (*rest.Config, string, error) {
	u, err := cp.env.AddUser(envtest.User{Name: name, Groups: groups}, rest.CopyConfig(cp.Config))
	if err != nil {
		return nil, "", err
	}
	kc, err := u.KubeConfig()
	if err != nil {
		return nil, "", err
	}
	f, err := os.CreateTemp(cp.workDir, "user-*.kubeconfig")
	if err != nil {
		return nil, "", err
	}
	if _, err := f.Write(kc); err != nil {
		f.Close()
		return nil, "", err
	}
	if err := f.Close(); err != nil {
		return nil, "", err
	}
	return u.Config(), f.Name(), nil
}

// WaitFor polls cond every poll until it returns true, returns an error, or
// timeout (or ctx) expires. cond is first called at once.
func (cp *ControlPlane) WaitFor(ctx context.Context, timeout, poll time.Duration, cond func(context.Context) (bool, error)) error {
	return WaitFor(ctx, timeout, poll, cond)
}

// WaitFor polls cond every poll until it returns true, returns an error, or
// timeout (or ctx) expires. cond is first called at once. On time-out the
// error says so and includes the last error cond returned, if any.
func WaitFor(ctx context.Context, timeout, poll time.Duration, cond func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		ok, err := cond(ctx)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("condition not met within %s: %w", timeout, ctx.Err())
		case <-t.C:
		}
	}
}

func (cp *ControlPlane) openLog(name string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(cp.logDir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cp.logFiles = append(cp.logFiles, f)
	return f, nil
}

// LogTail returns the last lines of each component's log, each headed by
// its path.
func (cp *ControlPlane) LogTail(lines int) string {
	return logTail(cp.logDir, lines)
}

func logTail(dir string, lines int) string {
	var b strings.Builder
	for _, name := range []string{"etcd.log", "kube-apiserver.log", "kube-controller-manager.log"} {
		p := filepath.Join(dir, name)
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(all) > lines {
			all = all[len(all)-lines:]
		}
		fmt.Fprintf(&b, "==> %s <==\n%s\n", p, strings.Join(all, "\n"))
	}
	return b.String()
}

func (cp *ControlPlane) tailHint() string {
	if cp.logDir == "" {
		return ""
	}
	return "\n" + cp.LogTail(20)
}

// resolveBinDir applies the defaults documented at Options.BinDir.
func resolveBinDir(dir string) (string, error) {
	if dir != "" {
		return filepath.Abs(dir)
	}
	if env := os.Getenv("KUBEBUILDER_ASSETS"); env != "" {
		return filepath.Abs(env)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root, err := repoRoot(wd)
	if err != nil {
		return "", fmt.Errorf("controlplane: %w; set KUBEBUILDER_ASSETS to a directory with the control-plane binaries (built by `make k8s-bin`)", err)
	}
	return filepath.Join(root, "bin", "k8s", KubernetesVersion), nil
}

// repoRoot walks up from dir to the directory whose go.mod declares this
// repository's module.
func repoRoot(dir string) (string, error) {
	for d := dir; ; {
		if data, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && modulePath(data) == module {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod of module %s in %s or above", module, dir)
		}
		d = parent
	}
}

func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

func checkBinaries(dir string, names []string) error {
	var missing []string
	for _, n := range names {
		if fi, err := os.Stat(filepath.Join(dir, n)); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	src := ""
	if os.Getenv("KUBEBUILDER_ASSETS") != "" {
		src = " (from KUBEBUILDER_ASSETS; unset it to use bin/k8s/" + KubernetesVersion + ")"
	}
	return fmt.Errorf("controlplane: %s missing in %s%s: run `make k8s-bin` (hack/build-k8s.sh) to build the control-plane binaries",
		strings.Join(missing, ", "), dir, src)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (string, error) { return freePort() }

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}
