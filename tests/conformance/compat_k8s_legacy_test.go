//go:build talos_v1_8 || talos_v1_9 || talos_v1_10 || talos_v1_11 || talos_v1_12 || talos_v1_13

package conformance

import (
	"net/url"

	"github.com/siderolabs/crypto/x509"

	coreconfig "github.com/siderolabs/talos/pkg/machinery/config"
)

// Up to v1.13 the Kubernetes settings machinery reads are in the v1alpha1 `cluster` section
// (config.ClusterConfig Name, Endpoint, IssuingCA, AcceptedCAs).

func k8sClusterName(cfg coreconfig.Provider) string { return cfg.Cluster().Name() }

func k8sEndpoint(cfg coreconfig.Provider) *url.URL { return cfg.Cluster().Endpoint() }

func k8sIssuingCA(cfg coreconfig.Provider) *x509.PEMEncodedCertificateAndKey {
	return cfg.Cluster().IssuingCA()
}

// adminKubeconfigCAs is the certificate-authority-data Talos writes into the admin kubeconfig:
// the accepted CAs, then the issuing CA (talos@v1.13.9:pkg/kubeconfig/generate.go GenerateAdmin).
func adminKubeconfigCAs(cfg coreconfig.Provider) []byte {
	var out []byte
	for _, ca := range cfg.Cluster().AcceptedCAs() {
		out = append(out, ca.Crt...)
	}

	return append(out, cfg.Cluster().IssuingCA().Crt...)
}

// storagePatches: the kubelet bind-mounts the local storage path, as Talos' local storage guide
// says (talos@v1.9.6:website/content/v1.8/kubernetes-guides/configuration/local-storage.md).
func storagePatches(path string) []string { return []string{storagePatch(path)} }
