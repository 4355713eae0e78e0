// A real Kubernetes API server for the tests: kube-apiserver built from the Go module proxy by
// tests/kube/build.sh (cached), backed by Debian's etcd, both on 127.0.0.1 only, with what a Talos
// control plane gives its API server that matters to our CLI: client-certificate authentication
// against the cluster's Kubernetes CA, RBAC, and the Pod Security admission config our machine
// configs give the API server (talos/config/defaults.ts podSecurityAdmission: enforce baseline,
// audit and warn restricted, kube-system exempt). Each start has its own directory, ports and
// processes, ended by PID in stop().

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { renderKubeconfig } from "../../talos/clientconfig";
import { podSecurityAdmission } from "../../talos/config/defaults";
import { toKubernetesYaml } from "../../talos/yaml";
import type { SecretsBundle } from "../../talos/secretsbundle";
import { issueCert } from "../cli/support/certs";
import { makeClientCert } from "./pki";

const BUILD_SCRIPT = resolve(__dirname, "../kube/build.sh");
const ETCD = "/usr/bin/etcd";

/** Why the real API server cannot run here, or undefined when it can (the binary is built if need be). */
let availability: { binary: string } | { why: string } | undefined;

export function kubeApiserverAvailability(): { binary: string } | { why: string } {
    if (availability !== undefined) return availability;
    if (!existsSync(ETCD)) {
        availability = { why: `no ${ETCD} (Debian's etcd-server: apt-get install etcd-server)` };
        return availability;
    }
    const build = spawnSync("bash", [BUILD_SCRIPT], { encoding: "utf8", timeout: 30 * 60_000 });
    const binary = build.stdout.trim().split("\n").pop() ?? "";
    availability = build.status === 0 && existsSync(binary)
        ? { binary }
        : { why: `tests/kube/build.sh could not build kube-apiserver: ${(build.stderr || build.error?.message || "").trim().slice(-400)}` };
    return availability;
}

async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const { port } = server.address() as { port: number };
    await new Promise((done) => server.close(done));
    return port;
}

/** The admission config file Talos writes for its API server from cluster.apiServer.admissionControl. */
const ADMISSION_CONFIG = toKubernetesYaml({
    apiVersion: "apiserver.config.k8s.io/v1",
    kind: "AdmissionConfiguration",
    plugins: [podSecurityAdmission()],
});

export interface RealKube {
    /** https://127.0.0.1:PORT */
    url: string;
    /** the admin kubeconfig, as the stack outputs it (CN=admin, O=system:masters) */
    kubeconfig: string;
    /** a kubeconfig for another user of the same CA, with no RBAC binding (for 403s) */
    userKubeconfig(name: string): Promise<string>;
    /** stops the API server and etcd (by PID) and removes their directory */
    stop(): Promise<void>;
    /** stops the API server only, and starts it again on the same port (etcd keeps the data) */
    restart(downMs: number): Promise<void>;
}

export async function startRealKube(secrets: SecretsBundle, clusterName = "talos"): Promise<RealKube> {
    const found = kubeApiserverAvailability();
    if ("why" in found) throw new Error(found.why);
    const dir = mkdtempSync(join(tmpdir(), "talos-docker-kube-"));
    const [etcdClient, etcdPeer, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const serving = await issueCert(secrets.certs.k8s, { commonName: "kube-apiserver", ips: ["127.0.0.1"], dnsNames: ["localhost"], usage: "server" });
    const files: Record<string, string> = {
        "ca.crt": secrets.certs.k8s.crt,
        "apiserver.crt": serving.crt,
        "apiserver.key": serving.key,
        "sa.key": secrets.certs.k8sServiceAccount.key,
        "admission.yaml": ADMISSION_CONFIG,
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, { mode: 0o600 });

    const children: ChildProcess[] = [];
    const etcd = spawn(ETCD, [
        "--data-dir", join(dir, "etcd"), "--name", "test",
        "--listen-client-urls", `http://127.0.0.1:${etcdClient}`, "--advertise-client-urls", `http://127.0.0.1:${etcdClient}`,
        "--listen-peer-urls", `http://127.0.0.1:${etcdPeer}`, "--initial-advertise-peer-urls", `http://127.0.0.1:${etcdPeer}`,
        "--initial-cluster", `test=http://127.0.0.1:${etcdPeer}`,
    ], { stdio: "ignore" });
    children.push(etcd);

    const apiserverArgs = [
        `--etcd-servers=http://127.0.0.1:${etcdClient}`, "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
        `--secure-port=${apiPort}`, `--tls-cert-file=${join(dir, "apiserver.crt")}`, `--tls-private-key-file=${join(dir, "apiserver.key")}`,
        `--client-ca-file=${join(dir, "ca.crt")}`, "--authorization-mode=Node,RBAC",
        "--service-account-issuer=https://kubernetes.default.svc", `--service-account-key-file=${join(dir, "sa.key")}`,
        `--service-account-signing-key-file=${join(dir, "sa.key")}`, "--service-cluster-ip-range=10.96.0.0/12",
        `--admission-control-config-file=${join(dir, "admission.yaml")}`, "--enable-admission-plugins=NodeRestriction",
        // Talos runs privileged system pods (kube-proxy, flannel) and lets the API server admit
        // them (talos@v1.8.3:internal/app/machined/pkg/controllers/k8s/control_plane_static_pod.go).
        "--allow-privileged=true",
    ];
    let apiserver = spawn(found.binary, apiserverArgs, { stdio: "ignore" });
    children.push(apiserver);

    const admin = await makeClientCert(secrets.certs.k8s, "kubernetesAdmin");
    const url = `https://127.0.0.1:${apiPort}`;
    const kubeconfigFor = (crt: string, key: string) => renderKubeconfig({ clusterName, server: url, ca: secrets.certs.k8s.crt, crt, key });
    const kube: RealKube = {
        url,
        kubeconfig: kubeconfigFor(admin.crt, admin.key),
        async userKubeconfig(name) {
            const cert = await issueCert(secrets.certs.k8s, { commonName: name, usage: "client" });
            return kubeconfigFor(cert.crt, cert.key);
        },
        async stop() {
            await Promise.all(children.map(stopChild));
            rmSync(dir, { recursive: true, force: true });
        },
        async restart(downMs) {
            await stopChild(apiserver);
            await new Promise((done) => setTimeout(done, downMs));
            apiserver = spawn(found.binary, apiserverArgs, { stdio: "ignore" });
            children.push(apiserver);
        },
    };
    try {
        await waitReady(url, admin, secrets.certs.k8s.crt, 60_000);
    } catch (err) {
        await kube.stop();
        throw err;
    }
    return kube;
}

/** SIGTERM, then SIGKILL after 5 s: by PID, never by name. */
function stopChild(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((done) => {
        const kill = setTimeout(() => child.kill("SIGKILL"), 5000);
        child.once("exit", () => {
            clearTimeout(kill);
            done();
        });
        child.kill("SIGTERM");
    });
}

async function waitReady(url: string, admin: { crt: string; key: string }, ca: string, timeoutMs: number): Promise<void> {
    const { request } = await import("node:https");
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const ok = await new Promise<boolean>((done) => {
            const req = request(`${url}/readyz`, { ca, cert: admin.crt, key: admin.key, timeout: 2000 }, (res) => {
                res.resume();
                done(res.statusCode === 200);
            });
            req.on("error", () => done(false));
            req.on("timeout", () => req.destroy());
            req.end();
        });
        if (ok) return;
        if (Date.now() > deadline) throw new Error(`kube-apiserver on ${url} was not ready within ${timeoutMs} ms`);
        await new Promise((done) => setTimeout(done, 200));
    }
}
