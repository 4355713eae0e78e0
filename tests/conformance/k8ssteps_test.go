//go:build talos_v1_14

package conformance

import (
	"encoding/json"
	"fmt"
	"testing"

	coreconfig "github.com/siderolabs/talos/pkg/machinery/config"
	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
	"github.com/siderolabs/talos/pkg/machinery/config/configpatcher"
	"github.com/siderolabs/talos/pkg/machinery/config/generate/stdpatches"
)

// k8sStepsCase is one entry of k8ssteps.json: our talos/k8supgrade.ts steps from a role's config to
// the same config with the next Kubernetes patch release.
type k8sStepsCase struct {
	Role  string `json:"role"`
	From  string `json:"from"`
	Steps []struct {
		Component string `json:"component"`
		Image     string `json:"image"`
		Config    string `json:"config"`
	} `json:"steps"`
}

// imagePatch is the patch `talosctl upgrade-k8s` makes for a component's image, for the contract
// it guesses from the running config (talos@v1.14.1:pkg/machinery/config/generate/stdpatches,
// used by pkg/cluster/kubernetes/talos_managed.go and kubelet.go at v1.14.0-rc.1).
func imagePatch(cfg coreconfig.Provider, component, image string) ([]byte, error) {
	switch component {
	case "kube-apiserver":
		return stdpatches.WithKubeAPIServerImage(stdpatches.GuessVersionContractKubeAPIServer(cfg), image)
	case "kube-controller-manager":
		return stdpatches.WithKubeControllerManagerImage(stdpatches.GuessVersionContractKubeControllerManager(cfg), image)
	case "kube-scheduler":
		return stdpatches.WithKubeSchedulerImage(stdpatches.GuessVersionContractKubeScheduler(cfg), image)
	case "kube-proxy":
		return stdpatches.WithKubeProxyImage(stdpatches.GuessVersionContractKubeProxy(cfg), image)
	case "kubelet":
		return stdpatches.WithKubeletImage(stdpatches.GuessVersionContractKubelet(cfg), image)
	default:
		return nil, fmt.Errorf("unknown component %q", component)
	}
}

// Test: each step of our Kubernetes upgrade is the config upgrade-k8s would send at that step:
// machinery's own image patch for that component applied to the config of the step before, the
// components in upgrade-k8s' order, a control plane's five and a worker's kubelet.
func TestKubernetesUpgradeSteps(t *testing.T) {
	loadOptions(t)

	var cases []k8sStepsCase
	if err := json.Unmarshal(readFixture(t, "k8ssteps.json"), &cases); err != nil {
		t.Fatalf("k8ssteps.json: %v", err)
	}

	wantComponents := map[string][]string{
		"controlplane": {"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "kubelet"},
		"worker":       {"kubelet"},
	}

	for _, c := range cases {
		t.Run(c.Role, func(t *testing.T) {
			var got []string
			for _, s := range c.Steps {
				got = append(got, s.Component)
			}

			if fmt.Sprint(got) != fmt.Sprint(wantComponents[c.Role]) {
				t.Fatalf("components: got %v, want %v", got, wantComponents[c.Role])
			}

			previous := []byte(c.From)

			for _, s := range c.Steps {
				cfg, err := configloader.NewFromBytes(previous)
				if err != nil {
					t.Fatalf("%s: the config before the step: %v", s.Component, err)
				}

				patchBytes, err := imagePatch(cfg, s.Component, s.Image)
				if err != nil {
					t.Fatalf("%s: stdpatches: %v", s.Component, err)
				}

				patch, err := configpatcher.LoadPatch(patchBytes)
				if err != nil {
					t.Fatalf("%s: configpatcher.LoadPatch: %v", s.Component, err)
				}

				out, err := configpatcher.Apply(configpatcher.WithConfig(cfg), []configpatcher.Patch{patch})
				if err != nil {
					t.Fatalf("%s: configpatcher.Apply: %v", s.Component, err)
				}

				patched, err := out.Config()
				if err != nil {
					t.Fatalf("%s: the patched config: %v", s.Component, err)
				}

				diffs := diffTrees(parseTree(t, "ours", []byte(s.Config)), parseTree(t, "upgrade-k8s", encode(t, patched)))
				reportDiffs(t, fmt.Sprintf("step %s: ours vs machinery's image patch", s.Component), diffs)

				previous = []byte(s.Config)
			}
		})
	}
}
