// The program's side of config_test.go: for each case, a config map as the Node.js language host
// hands it to the program (PULUMI_CONFIG), what the program's own reader (readStackConfig) makes of
// it: the ClusterSpec, or the message `pulumi up` would stop with. Cases on stdin, results on
// stdout, both JSON. Run from the project directory, as Pulumi runs the program.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../../model/config";
import { readStackConfig } from "../../components/stackconfig";

type Result = { spec: unknown } | { error: string };

/** An imported secrets bundle is key material: only its digest is printed. */
function printable(spec: ClusterSpec): unknown {
    if (!spec.importedSecrets) return spec;
    const { path, bundle } = spec.importedSecrets;
    const sha256 = createHash("sha256").update(JSON.stringify(bundle)).digest("hex");
    return { ...spec, importedSecrets: { path, sha256 } };
}

const cases = JSON.parse(readFileSync(0, "utf8")) as Record<string, Record<string, string>>;
const results: Record<string, Result> = {};
for (const [name, config] of Object.entries(cases)) {
    // What the runtime does with PULUMI_CONFIG when the program starts.
    pulumi.runtime.setAllConfig(config);
    try {
        results[name] = { spec: printable(readStackConfig()) };
    } catch (err) {
        if (!(err instanceof pulumi.RunError)) throw err;
        results[name] = { error: err.message };
    }
}
process.stdout.write(JSON.stringify(results));
