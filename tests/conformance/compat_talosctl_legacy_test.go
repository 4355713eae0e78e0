//go:build talos_v1_8 || talos_v1_9 || talos_v1_10 || talos_v1_11

package conformance

import (
	"github.com/siderolabs/talos/pkg/machinery/config"
	"github.com/siderolabs/talos/pkg/machinery/config/generate"
	"github.com/siderolabs/talos/pkg/machinery/config/types/v1alpha1"
)

// talosctlDockerGenOptions are the generate options of `talosctl cluster create` with the docker
// provisioner and default flags, in its order, up to v1.11:
//   - talos@v1.8.3:cmd/talosctl/cmd/mgmt/cluster/create.go (the same at v1.9.6 and v1.10.9;
//     talos@v1.11.6:cmd/talosctl/cmd/mgmt/cluster/create/create.go): install image (the
//     --install-image default, ghcr.io/siderolabs/installer:<talosctl's tag>), debug false,
//     dns domain cluster.local, cluster discovery on, the provisioner's options, the version
//     contract, a SAN per Talos API endpoint host, the endpoint list;
//   - talos@v1.8.3:pkg/provision/providers/docker/docker.go GenOptions (the same up to v1.11.6):
//     eth0 ignored, hostDNS forwardKubeDNSToHost.
func talosctlDockerGenOptions(contract *config.VersionContract, talosVersion string, endpoints []string) []generate.Option {
	opts := []generate.Option{
		generate.WithInstallImage("ghcr.io/siderolabs/installer:" + talosVersion),
		generate.WithDebug(false),
		generate.WithDNSDomain("cluster.local"),
		generate.WithClusterDiscovery(true),
		generate.WithNetworkOptions(
			v1alpha1.WithNetworkInterfaceIgnore(v1alpha1.IfaceByName("eth0")),
		),
		generate.WithHostDNSForwardKubeDNSToHost(true),
		generate.WithVersionContract(contract),
	}

	opts = append(opts, endpointSANs(endpoints)...)

	return append(opts, generate.WithEndpointList(endpoints))
}
