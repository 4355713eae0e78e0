// `manifests` through the whole CLI against the fake Kubernetes API (HTTPS, client certificates
// from the test PKI): the kube-proxy DaemonSet patched as kube-apiserver takes a strategic merge
// patch, the rollout waited for, and a cluster without kube-proxy left alone; faults the real
// API server cannot be made to show (a stuck rollout, a 503). The patch against a real
// kube-apiserver is in tests/kubeapi/manifests.test.ts.

import { afterEach, beforeAll, describe, expect, it } from "vitest";

import { ExitCode } from "../../cli/exitcodes";
import { FakeKube } from "../support/fake-kube";
import { issueCert } from "./support/certs";
import { FakeClock } from "./support/fakeclock";
import { kubeconfigFor, makeTestPki, runCli, type CliRun, type TestPki } from "./support/harness";

const DS_PATH = "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy";

let pki: TestPki;
const fakes: FakeKube[] = [];

beforeAll(async () => {
    pki = await makeTestPki();
});

afterEach(async () => {
    await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function cluster(): Promise<FakeKube> {
    const kube = await FakeKube.start({ k8sCa: pki.bundle.certs.k8s });
    fakes.push(kube);
    kube.apiReady = true;
    return kube;
}

function manifests(kube: FakeKube, version: string, opts: { flags?: string[]; clock?: FakeClock; kubeconfig?: string } = {}): Promise<CliRun> {
    return runCli(
        ["manifests", "--kubernetes-version", version, ...(opts.flags ?? [])],
        { TALOS_DOCKER_KUBECONFIG: opts.kubeconfig ?? kubeconfigFor(pki, kube.url) },
        { clock: opts.clock },
    );
}

describe("manifests", () => {
    it("sets the kube-proxy image by strategic merge patch, then waits for the rollout", async () => {
        const kube = await cluster();
        kube.addKubeProxy("registry.k8s.io/kube-proxy:v1.31.1", 3);
        kube.rolloutReads = 3;
        const run = await manifests(kube, "1.31.2", { clock: new FakeClock() });
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        expect(kube.patches).toEqual([{
            path: `${DS_PATH}?fieldManager=talos-docker`,
            contentType: "application/strategic-merge-patch+json",
            fieldManager: "talos-docker",
            body: { spec: { template: { spec: { containers: [{ name: "kube-proxy", image: "registry.k8s.io/kube-proxy:v1.31.2" }] } } } },
        }]);
        // Only the image changed: the rest of the template is as it was.
        const ds = kube.daemonSets.get("kube-proxy")!;
        expect(ds.spec?.template?.spec?.containers).toEqual([{ name: "kube-proxy", image: "registry.k8s.io/kube-proxy:v1.31.2" }]);
        expect(ds.metadata.generation).toBe(2);
        // One read before the patch, then reads until the rollout is done (3 under way, 1 done).
        expect(kube.requests.get(DS_PATH)).toBe(6);
        expect(run.out[0]).toBe(`[manifests] reading the DaemonSet kube-system/kube-proxy at ${kube.url} (0s)`);
        expect(run.out).toContain("[manifests] set kube-proxy of kube-system/kube-proxy to v1.31.2 (0s)");
        expect(run.out).toContain("[manifests] waiting for the rollout of kube-system/kube-proxy (0s)");
        expect(run.out.at(-1)).toMatch(/^\[manifests\] done: kube-system\/kube-proxy runs v1\.31\.2 on every node it schedules \(\ds\)$/);
    });

    it("a DaemonSet already at the image is not patched, and its rollout is checked", async () => {
        const kube = await cluster();
        kube.addKubeProxy("registry.k8s.io/kube-proxy:v1.31.2", 2);
        const run = await manifests(kube, "1.31.2");
        expect(run.code).toBe(ExitCode.OK);
        expect(kube.patches).toEqual([]);
        expect(run.out).toContain("[manifests] kube-system/kube-proxy already runs v1.31.2 (0s)");
    });

    it("without a kube-proxy DaemonSet (kube-proxy disabled) there is nothing to do", async () => {
        const kube = await cluster();
        const run = await manifests(kube, "1.31.2");
        expect(run.code).toBe(ExitCode.OK);
        expect(run.out).toEqual([
            `[manifests] reading the DaemonSet kube-system/kube-proxy at ${kube.url} (0s)`,
            "[manifests] done: there is no DaemonSet kube-system/kube-proxy (kube-proxy is disabled): nothing to update (0s)",
        ]);
        expect(kube.patches).toEqual([]);
    });

    it("waits while the API is not ready, then patches", async () => {
        const kube = await cluster();
        kube.apiReady = false;
        kube.addKubeProxy("registry.k8s.io/kube-proxy:v1.31.1", 1);
        setTimeout(() => (kube.apiReady = true), 1_200);
        const run = await manifests(kube, "1.31.2");
        expect(run.code).toBe(ExitCode.OK);
        expect(run.out).toContain(`[manifests] reading the DaemonSet kube-system/kube-proxy at ${kube.url} (1s, HTTP 503)`);
        expect(kube.patches).toHaveLength(1);
    });

    it("a rollout that does not complete: exit 4 after upgrade-k8s' 5 minutes, with what to look at", async () => {
        const kube = await cluster();
        kube.addKubeProxy("registry.k8s.io/kube-proxy:v1.31.1", 3);
        kube.rolloutStuck = true;
        const run = await manifests(kube, "1.31.2", { clock: new FakeClock() });
        expect(run.code).toBe(ExitCode.TIMEOUT);
        expect(run.err).toEqual([
            "[manifests] error: timed out after 5m00s (talosctl upgrade-k8s' bound) waiting for the rollout of kube-system/kube-proxy " +
                "(last: 2 of 3 pods updated).\n" +
                "See `kubectl -n kube-system rollout status daemonset/kube-proxy` and `kubectl -n kube-system get pods -l k8s-app=kube-proxy -o wide`.",
        ]);
    });

    it("a client certificate the API does not accept: exit 3 at once", async () => {
        const kube = await cluster();
        kube.addKubeProxy("registry.k8s.io/kube-proxy:v1.31.1", 1);
        const other = await issueCert(pki.bundle.certs.k8s, { organizations: ["system:nodes"], commonName: "someone", usage: "client" });
        const run = await manifests(kube, "1.31.2", { kubeconfig: kubeconfigFor(pki, kube.url, { client: other }) });
        expect(run.code).toBe(ExitCode.FATAL);
        expect(run.err[0]).toMatch(/^\[manifests\] error: the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ answered 403 Forbidden/);
        expect(kube.patches).toEqual([]);
    });
});

describe("manifests input", () => {
    it("needs a version without a leading v, and a kubeconfig", async () => {
        expect((await runCli(["manifests"], {})).err).toEqual(["[manifests] error: manifests: --kubernetes-version X.Y.Z is required (the version the cluster now runs)"]);
        expect((await runCli(["manifests", "--kubernetes-version", "v1.31.2"], {})).err).toEqual([
            '[manifests] error: manifests: --kubernetes-version "v1.31.2" is not a version like 1.31.2 (no leading v)',
        ]);
        const run = await runCli(["manifests", "--kubernetes-version", "1.31.2"], {});
        expect(run.code).toBe(ExitCode.USAGE);
        expect(run.err).toEqual(["[manifests] error: manifests: no kubeconfig: set TALOS_DOCKER_KUBECONFIG to its YAML text or pass --kubeconfig FILE"]);
    });

    it("lists its flags and variable in --help", async () => {
        const help = (await runCli(["manifests", "--help"], {})).out.join("\n");
        for (const word of ["--kubernetes-version X.Y.Z", "--kubeconfig FILE", "--timeout DURATION", "TALOS_DOCKER_KUBECONFIG", "talos-docker"]) expect(help).toContain(word);
    });
});
