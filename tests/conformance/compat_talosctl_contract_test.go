//go:build talos_v1_12 || talos_v1_13 || talos_v1_14

package conformance

import (
	"github.com/siderolabs/talos/pkg/machinery/config"
	"github.com/siderolabs/talos/pkg/machinery/config/generate"
	"github.com/siderolabs/talos/pkg/machinery/config/types/v1alpha1"
)

// talosctlDockerGenOptions are the generate options of `talosctl cluster create docker` with
// default flags, in its order, from v1.12:
//   - talos@v1.12.11:cmd/talosctl/cmd/mgmt/cluster/create/clusterops/configmaker/internal/makers/common.go
//     (initGenOps, finalizeMachineConfigs; the same at v1.13.9): dns domain cluster.local, cluster
//     discovery on, debug false, the version contract, then (makers/docker.go AddExtraGenOps) a SAN
//     per Talos API endpoint host, then the provisioner's options, then the endpoint list. No
//     install image: only the qemu maker sets one (makers/qemu.go).
//   - talos@v1.12.11:pkg/provision/providers/docker/docker.go GenOptions (the same at v1.13.9):
//     forwardKubeDNSToHost if the contract has host DNS, eth0 ignored unless the contract has
//     multi-document network config.
func talosctlDockerGenOptions(contract *config.VersionContract, _ string, endpoints []string) []generate.Option {
	opts := []generate.Option{
		generate.WithDNSDomain("cluster.local"),
		generate.WithClusterDiscovery(true),
		generate.WithDebug(false),
		generate.WithVersionContract(contract),
	}

	opts = append(opts, endpointSANs(endpoints)...)

	if contract.HostDNSEnabled() {
		opts = append(opts, generate.WithHostDNSForwardKubeDNSToHost(true))
	}

	if !contract.MultidocNetworkConfigSupported() {
		opts = append(opts, generate.WithNetworkOptions(
			v1alpha1.WithNetworkInterfaceIgnore(v1alpha1.IfaceByName("eth0")),
		))
	}

	return append(opts, generate.WithEndpointList(endpoints))
}
