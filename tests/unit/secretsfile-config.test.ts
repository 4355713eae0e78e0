// Config `secretsFile`: a talosctl secrets.yaml the cluster uses instead of generating its own.
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError, ConfigIo, describeProblem, parseClusterSpec } from "../../model/config";
import type { SecretsBundle } from "../../talos/secretsbundle";
import { renderSecretsYaml } from "../../talos/secretsfile";
import { makeSecretsBundle } from "../support/pki";

let bundle: SecretsBundle;
let yaml: string;

beforeAll(async () => {
    bundle = await makeSecretsBundle({ rsaBits: 2048 });
    yaml = renderSecretsYaml(bundle);
});

/** A reader over an in-memory directory, failing as the real one does for a missing file. */
function files(entries: Record<string, string>): ConfigIo {
    return {
        readFile(path) {
            if (!(path in entries)) throw new Error(`no such file: /project/${path}`);
            return entries[path];
        },
    };
}

function problems(secretsFile: string, io: ConfigIo): string[] {
    try {
        parseClusterSpec({ secretsFile }, io);
        return [];
    } catch (err) {
        if (err instanceof ConfigError) return err.problems.map(describeProblem);
        throw err;
    }
}

function fixes(secretsFile: string, io: ConfigIo): string[] {
    try {
        parseClusterSpec({ secretsFile }, io);
        return [];
    } catch (err) {
        if (err instanceof ConfigError) return err.problems.map((p) => p.fix);
        throw err;
    }
}

describe("secretsFile", () => {
    it("uses the bundle from the file", () => {
        const spec = parseClusterSpec({ secretsFile: "secrets.yaml" }, files({ "secrets.yaml": yaml }));
        expect(spec.importedSecrets).toEqual({ path: "secrets.yaml", bundle });
    });

    it("is absent unless set: the cluster generates its own", () => {
        expect(parseClusterSpec({}).importedSecrets).toBeUndefined();
    });

    it("a missing file is a config error that says where it looked", () => {
        expect(problems("nope.yaml", files({}))).toEqual([
            'talos-docker:secretsFile = "nope.yaml": cannot be read (no such file: /project/nope.yaml); give the path of a talosctl secrets.yaml, relative to the project directory',
        ]);
        expect(fixes("nope.yaml", files({}))).toEqual(["write it (talosctl gen secrets -o nope.yaml), or pulumi config rm talos-docker:secretsFile to generate new secrets"]);
    });

    it("a malformed file is written again or the key removed", () => {
        expect(fixes("my secrets.yaml", files({ "my secrets.yaml": "cluster: [unclosed" }))).toEqual([
            "write it again (talosctl gen secrets --force -o 'my secrets.yaml' for new secrets, or " +
                "pulumi stack output talosSecrets --show-secrets > 'my secrets.yaml' for this stack's own), " +
                "or pulumi config rm talos-docker:secretsFile to generate new secrets",
        ]);
    });

    it("a malformed file lists its problems by YAML path and echoes no secret", () => {
        const broken = yaml
            .replace(/bootstraptoken: \S+/, "bootstraptoken: not-a-token")
            .replace(/(k8s:\n\s+crt: )\S+/, "$1not%base64");
        const found = problems("secrets.yaml", files({ "secrets.yaml": broken }));
        expect(found).toHaveLength(1);
        expect(found[0]).toMatch(/^talos-docker:secretsFile = "secrets.yaml": is not a usable talosctl secrets bundle: /);
        expect(found[0]).toContain("secrets.bootstraptoken");
        expect(found[0]).toContain("certs.k8s.crt");
        for (const secret of [bundle.secrets.secretboxEncryptionSecret, bundle.cluster.secret, bundle.trustdInfo.token]) {
            expect(found[0]).not.toContain(secret);
        }
    });

    it("a file that is not YAML at all", () => {
        const found = problems("secrets.yaml", files({ "secrets.yaml": "cluster: [unclosed" }));
        expect(found[0]).toMatch(/^talos-docker:secretsFile = "secrets.yaml": is not a usable talosctl secrets bundle: /);
    });

    it("an empty path is unset (Pulumi.yaml's default): the cluster generates its own, nothing is read", () => {
        const none: ConfigIo = { readFile: () => { throw new Error("nothing may be read"); } };
        expect(parseClusterSpec({ secretsFile: "" }, none).importedSecrets).toBeUndefined();
    });
});
