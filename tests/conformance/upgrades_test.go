package conformance

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/siderolabs/talos/pkg/machinery/api/machine"
	"github.com/siderolabs/talos/pkg/machinery/compatibility"
)

// upgradeCase is one entry of upgrades.json: our talos/upgrades.ts verdict on moving the nodes of
// a cluster from one Talos release to another.
type upgradeCase struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Allowed bool   `json:"allowed"`
}

// Test: our rule for a Talos version change agrees with machinery's UpgradeableFrom (what the
// installer's preflight checks) for every pair of our releases this machinery knows the target of.
func TestTalosVersionChanges(t *testing.T) {
	var cases []upgradeCase
	if err := json.Unmarshal(readFixture(t, "upgrades.json"), &cases); err != nil {
		t.Fatalf("upgrades.json: %v", err)
	}

	judged := 0

	for _, c := range cases {
		host, err := compatibility.ParseTalosVersion(&machine.VersionInfo{Tag: c.From})
		if err != nil {
			t.Fatalf("%s: %v", c.From, err)
		}

		target, err := compatibility.ParseTalosVersion(&machine.VersionInfo{Tag: c.To})
		if err != nil {
			t.Fatalf("%s: %v", c.To, err)
		}

		err = target.UpgradeableFrom(host)
		if err != nil && strings.Contains(err.Error(), "are not supported") {
			continue // a target newer than this machinery knows
		}

		judged++

		if allowed := err == nil; allowed != c.Allowed {
			t.Errorf("%s → %s: ours says allowed=%v, machinery says %v", c.From, c.To, c.Allowed, err)
		}
	}

	if judged == 0 {
		t.Fatal("machinery judged none of the pairs: the check would prove nothing")
	}

	t.Logf("%d of %d version changes judged the same as machinery", judged, len(cases))
}
