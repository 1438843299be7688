package inventory

import (
	"fmt"

	apiextclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// userAgent names nsguard in the API server's audit log and metrics.
const userAgent = "nsguard"

var getOptions = metav1.GetOptions{}

// clusterClients are the clients of one FromCluster call. They share one
// HTTP client, so every request goes over the same connection (HTTP/2
// multiplexes the parallel LISTs).
type clusterClients struct {
	kube      kubernetes.Interface
	dynamic   dynamic.Interface
	metadata  metadata.Interface
	discovery *discovery.DiscoveryClient
	// apiext reads CRDs in protobuf: their schemas make them the largest
	// objects a snapshot needs, and decoding them as JSON into maps was
	// half the time of a diagnosis on a cluster with large CRDs.
	apiext apiextclient.Interface
	// proto reads LISTs of the built-in kinds whose body rules read
	// (workloads, RBAC, Services, Leases, webhook configurations) in
	// protobuf, decoded with client-go's scheme: a JSON LIST decoded into
	// maps cost the client twice the CPU, and the API server more too.
	proto rest.Interface
}

// readBurstConfig returns a copy of cfg tuned for a short burst of reads.
//
// The client-side rate limiter is switched off (negative QPS): its default
// of 5 requests per second with a burst of 10 would turn the ~150 LISTs of
// one diagnosis into half a minute of waiting. The burst is bounded anyway:
// one discovery, one LIST per resource type (more only for collections
// larger than a page), at most ClusterOptions.Workers in flight; and the
// API server's priority and fairness still protects it from us.
//
// Deprecation warnings are dropped: listing every resource type triggers
// them (v1 Endpoints, ComponentStatus) and they say nothing about the
// namespace.
func readBurstConfig(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.QPS = -1
	c.Burst = 0
	c.RateLimiter = nil
	c.WarningHandler = rest.NoWarnings{}
	c.WarningHandlerWithContext = nil
	if c.UserAgent == "" {
		c.UserAgent = userAgent + " " + rest.DefaultKubernetesUserAgent()
	}
	return c
}

// newClusterClients builds the clients of one source on one HTTP client.
// A nil limiter gives the unthrottled burst of a one-shot snapshot; a
// long-lived process passes one limiter that every client shares.
func newClusterClients(in *rest.Config, clock *ServerClock, limiter flowcontrol.RateLimiter) (*clusterClients, error) {
	if in == nil {
		return nil, fmt.Errorf("no client configuration")
	}
	cfg := readBurstConfig(in)
	if limiter != nil {
		cfg.RateLimiter = limiter
	}
	if clock != nil {
		cfg.Wrap(clock.Wrap)
	}
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("http client: %w", err)
	}
	kube, err := kubernetes.NewForConfigAndClient(withProtobuf(cfg), httpClient)
	if err != nil {
		return nil, fmt.Errorf("typed client: %w", err)
	}
	dyn, err := dynamic.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	md, err := metadata.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("metadata client: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	apiext, err := apiextclient.NewForConfigAndClient(withProtobuf(cfg), httpClient)
	if err != nil {
		return nil, fmt.Errorf("apiextensions client: %w", err)
	}
	protoCfg := withProtobuf(cfg)
	protoCfg.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	proto, err := rest.UnversionedRESTClientForConfigAndClient(protoCfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("protobuf client: %w", err)
	}
	return &clusterClients{kube: kube, dynamic: dyn, metadata: md, discovery: disc, apiext: apiext, proto: proto}, nil
}

// withProtobuf makes the typed client speak protobuf, the API server's
// cheapest encoding for built-in types.
func withProtobuf(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	c.ContentType = "application/vnd.kubernetes.protobuf"
	return c
}
