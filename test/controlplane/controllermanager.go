package controlplane

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// DefaultControllers are the kube-controller-manager controllers Start runs
// unless Options.Controllers says otherwise:
//
//   - namespace-controller: empties deleted namespaces and removes the
//     "kubernetes" finalizer; sets the NamespaceDeletion*/Namespace*Remaining
//     status conditions. The heart of what nsguard watches.
//   - garbage-collector-controller: owner references, and the orphan and
//     foregroundDeletion finalizers.
//   - serviceaccount-controller, serviceaccount-token-controller and
//     root-ca-certificate-publisher-controller: the "default" ServiceAccount
//     and the "kube-root-ca.crt" ConfigMap every real namespace contains.
//   - clusterrole-aggregation-controller: fills the aggregated admin, edit
//     and view ClusterRoles, also from aggregate-to-* labels on roles for
//     custom resources.
//   - deployment-controller, replicaset-controller, endpointslice-controller:
//     workloads behave as in a cluster (pods get created, never scheduled).
//   - persistentvolumeclaim-protection-controller and
//     persistentvolume-protection-controller: remove the
//     kubernetes.io/pvc-protection and kubernetes.io/pv-protection finalizers
//     that admission adds; without them every namespace with a PVC would be
//     stuck for good, which no real cluster does.
//
// Controllers that need nodes, a cloud or a kubelet are left out.
var DefaultControllers = []string{
	"namespace-controller",
	"garbage-collector-controller",
	"serviceaccount-controller",
	"serviceaccount-token-controller",
	"root-ca-certificate-publisher-controller",
	"clusterrole-aggregation-controller",
	"deployment-controller",
	"replicaset-controller",
	"endpointslice-controller",
	"persistentvolumeclaim-protection-controller",
	"persistentvolume-protection-controller",
}

// Timing of namespace deletion, from kube-controller-manager v1.37.2
// (k8s.io/kubernetes/pkg/controller/namespace and .../namespace/deletion,
// cmd/kube-controller-manager/app):
//
//   - A namespace is queued 5 s after any add or update event that shows a
//     deletionTimestamp (namespaceDeletionGracePeriod, a constant). So the
//     controller first acts about 5 s after the DELETE, and again 5 s after
//     each of its own status updates.
//   - While content remains it re-queues after estimate/2+1 seconds, where
//     the estimate is 15 s when the remaining objects carry finalizers
//     (finalizerEstimateSeconds, a constant) or the pods' remaining grace
//     period: in practice a re-check every 8 s until the last finalizer is
//     gone. Removing a finalizer from an object does not wake it up.
//   - Errors (e.g. a discovery failure from an unavailable APIService) are
//     retried with a per-item exponential back-off from 5 ms to 60 s.
//   - --namespace-sync-period (default 5m) is only the informer resync, and
//     --concurrent-namespace-syncs (default 10) only the number of
//     namespaces handled in parallel: no flag shortens the delays above.
//   - The garbage collector re-reads discovery every 30 s (a constant), so
//     for a CRD created after start it may take that long before owner
//     references to or from its objects are honoured.
//
// Measured here: a namespace holding a ConfigMap is gone 5.3 s after its
// deletion; one held by a finalizer shows NamespaceFinalizersRemaining
// after 5.3 s, and is gone 5-8 s after the finalizer is removed. Poll with
// deadlines rather than sleeping.

// startControllerManager starts kube-controller-manager as the
// system:kube-controller-manager user that the bootstrap RBAC policy binds,
// with per-controller service-account credentials as a kubeadm cluster has.
func (cp *ControlPlane) startControllerManager(ctx context.Context, opts Options) error {
	api := cp.env.ControlPlane.APIServer
	user, err := cp.env.AddUser(envtest.User{Name: "system:kube-controller-manager"}, nil)
	if err != nil {
		return fmt.Errorf("controlplane: provisioning the kube-controller-manager user: %w", err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		return err
	}
	dir := filepath.Join(cp.workDir, "kube-controller-manager")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		return err
	}
	rootCA := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(rootCA, api.SecureServing.CA, 0o600); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	controllers := DefaultControllers
	if len(opts.Controllers) > 0 {
		controllers = opts.Controllers
	}
	args := []string{
		"--kubeconfig=" + kubeconfig,
		// Delegated authentication and authorization of requests to its own
		// endpoints (/metrics, ...), as kubeadm sets up; /healthz, /readyz
		// and /livez are always allowed. envtest's apiserver has no front
		// proxy, so the request-header CA that kube-controller-manager would
		// look up in kube-system/extension-apiserver-authentication is
		// missing and it would log errors about it in a loop: pass the
		// client CA instead and skip that look-up.
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--authentication-skip-lookup=true",
		"--bind-address=127.0.0.1",
		"--secure-port=" + port,
		"--cert-dir=" + dir,
		"--leader-elect=false",
		"--controllers=" + strings.Join(controllers, ","),
		// Each controller acts as its own kube-system service account, with
		// the system:controller:* RBAC roles, through the TokenRequest API.
		"--use-service-account-credentials=true",
		// Signs legacy service-account token Secrets; envtest gives the
		// apiserver the matching public key (--service-account-key-file).
		"--service-account-private-key-file=" + filepath.Join(api.CertDir, "sa-signer.key"),
		"--root-ca-file=" + rootCA,
		// The default 20 qps per controller makes the namespace controller,
		// which lists and deletes every resource type of a namespace, the
		// bottleneck of tests that delete many namespaces at once.
		"--kube-api-qps=100",
		"--kube-api-burst=200",
		"--v=2",
		// What the namespace controller does, pass by pass.
		"--vmodule=namespace_controller=4,namespaced_resources_deleter=4",
	}
	// Written by envtest's client-certificate authenticator.
	if clientCA := filepath.Join(api.CertDir, "client-cert-auth-ca.crt"); fileExists(clientCA) {
		args = append(args, "--client-ca-file="+clientCA)
	}
	args = append(args, opts.ControllerManagerArgs...)

	logFile, err := cp.openLog("kube-controller-manager.log")
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(cp.binDir, "kube-controller-manager"), args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cp.kcm, err = startProcess(cmd)
	if err != nil {
		return fmt.Errorf("controlplane: starting kube-controller-manager: %w", err)
	}
	cp.reaper.watchPID(cmd.Process.Pid)

	if err := cp.kcm.waitHealthy(ctx, "https://127.0.0.1:"+port+"/healthz", 60*time.Second); err != nil {
		return fmt.Errorf("controlplane: kube-controller-manager: %w%s", err, cp.tailHint())
	}
	return nil
}

// managedProcess is a child process in its own process group.
type managedProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // Wait's result, valid once done is closed
}

func startProcess(cmd *exec.Cmd) (*managedProcess, error) {
	// Its own process group, so that stop reaches anything it spawned.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &managedProcess{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *managedProcess) waitHealthy(ctx context.Context, url string, timeout time.Duration) error {
	client := &http.Client{
		Timeout: 2 * time.Second,
		Transport: &http.Transport{
			// A self-signed serving certificate; only liveness matters here.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec
		},
	}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := "no answer"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited before it was healthy: %v", p.err)
		case <-ctx.Done():
			return fmt.Errorf("not healthy within %s (last: %s)", timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM to the process group, and SIGKILL after timeout.
func (p *managedProcess) stop(timeout time.Duration) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	pid := p.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	<-p.done
	return errors.New("did not stop on SIGTERM; killed")
}

func fileExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}
