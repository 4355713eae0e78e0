//go:build talos_v1_14

package conformance

import (
	"net/url"

	"github.com/siderolabs/crypto/x509"

	coreconfig "github.com/siderolabs/talos/pkg/machinery/config"
)

// From v1.14 they are in the KubeClusterConfig and KubeAPIServerCAConfig documents
// (talos@v1.14.1:pkg/machinery/config/config/k8s.go K8sClusterConfig, K8sAPIServerCAConfig).

func k8sClusterName(cfg coreconfig.Provider) string { return cfg.K8sClusterConfig().ClusterName() }

func k8sEndpoint(cfg coreconfig.Provider) *url.URL { return cfg.K8sClusterConfig().ClusterEndpoint() }

func k8sIssuingCA(cfg coreconfig.Provider) *x509.PEMEncodedCertificateAndKey {
	return cfg.K8sAPIServerCAConfig().IssuingCA()
}

// adminKubeconfigCAs: the accepted CAs, which from v1.14 begin with the issuing CA
// (pkg/kubeconfig/generate.go GenerateAdmin at v1.14.0-rc.1; K8sAPIServerCAConfig.AcceptedCAs).
func adminKubeconfigCAs(cfg coreconfig.Provider) []byte {
	var out []byte
	for _, ca := range cfg.K8sAPIServerCAConfig().AcceptedCAs() {
		out = append(out, ca.Crt...)
	}

	return out
}

// storagePatches: none. The KubeletConfig document has no mounts (talos@v1.14.1:
// pkg/machinery/config/types/k8s/kubelet.go ExtraMounts returns nil), and a machine.kubelet next
// to it is refused ("kubelet config is already set in v1alpha1 config").
func storagePatches(string) []string { return nil }
