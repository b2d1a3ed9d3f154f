// Proves that manifests.mjs fails on each kind of broken manifest it is meant to catch: every case
// copies deploy/k8s to a temporary folder, breaks one thing and expects a FAIL line naming it.
//
//   node --test tools/validate/
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const source = path.resolve(here, "../../deploy/k8s");

function validate(breakIt) {
  const dir = mkdtempSync(path.join(tmpdir(), "navigator-k8s-"));
  try {
    cpSync(source, dir, { recursive: true });
    breakIt?.(dir);
    const run = spawnSync(process.execPath, [path.join(here, "manifests.mjs"), dir], { encoding: "utf8" });
    return { status: run.status, out: run.stdout + run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Replaces the first occurrence of `from` in `file`; fails when it is not there (the case would prove nothing). */
const edit = (file, from, to) => (dir) => {
  const full = path.join(dir, file);
  const text = readFileSync(full, "utf8");
  assert.ok(text.includes(from), `${file} does not contain ${JSON.stringify(from)}`);
  writeFileSync(full, text.replace(from, to));
};
const append = (file, text) => (dir) => writeFileSync(path.join(dir, file), readFileSync(path.join(dir, file), "utf8") + text);

test("the manifests in the repository pass", () => {
  const { status, out } = validate();
  assert.equal(status, 0, out);
  assert.doesNotMatch(out, /^FAIL/m);
});

const cases = [
  ["a Secret with values", append("namespace.yaml", "---\napiVersion: v1\nkind: Secret\nmetadata: { name: leaked, namespace: navigator }\nstringData: { client-key: abc }\n"), /FAIL \S+namespace\.yaml Secret\/leaked: a Secret with data or stringData/],
  ["a connection string inline", edit("api.yaml", "- name: ConnectionStrings__AzureStorage\n              valueFrom: { secretKeyRef: { name: navigator-keys, key: azure-storage } }", "- { name: ConnectionStrings__AzureStorage, value: \"AccountKey=abc\" }"), /env ConnectionStrings__AzureStorage has an inline value/],
  ["the latest tag through kustomize", edit("kustomization.yaml", "newTag: 1.0.0", "newTag: latest"), [/Kustomization: images: navigator-api newTag is "latest"/, /container api: image navigator-api:latest uses the latest tag/]],
  ["an untagged image", edit("silo.yaml", "image: navigator-silo:1.0.0", "image: busybox"), /container silo: image busybox has no tag/],
  ["a writable root filesystem", edit("api.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false"), /container api: readOnlyRootFilesystem is not true/],
  ["no runAsUser", edit("silo.yaml", "        runAsUser: 1654 # \"app\", the non-root user of the .NET images\n", ""), /container silo: runAsUser is not a numeric non-root UID/],
  ["root UID", edit("silo.yaml", "runAsUser: 1654", "runAsUser: 0"), /container silo: runAsUser is not a numeric non-root UID/],
  ["privilege escalation", edit("silo.yaml", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true"), /container silo: allowPrivilegeEscalation is not false/],
  ["capabilities kept", edit("silo.yaml", "capabilities: { drop: [ALL] }", "capabilities: { drop: [NET_RAW] }"), /container silo: capabilities.drop does not include ALL/],
  ["no seccomp profile", edit("api.yaml", "seccompProfile: { type: RuntimeDefault }", "seccompProfile: { type: Unconfined }"), /container api: seccompProfile is not RuntimeDefault/],
  ["no CPU limit", edit("api.yaml", "limits: { cpu: \"1\", memory: 512Mi }", "limits: { memory: 512Mi }"), /container api: no cpu limits/],
  ["no liveness probe", edit("silo.yaml", "livenessProbe:", "x-livenessProbe:"), /unknown field spec\.template\.spec\.containers\[0\]\.x-livenessProbe.*no livenessProbe/],
  ["a misspelt field", edit("api.yaml", "readinessProbe:", "readynessProbe:"), /unknown field spec\.template\.spec\.containers\[0\]\.readynessProbe/],
  ["a misspelt nested field", edit("silo.yaml", "maxUnavailable: 1", "maxUnavailabel: 1"), /PodDisruptionBudget\/navigator-silo: unknown field spec\.maxUnavailabel/],
  ["a wrong type", edit("silo.yaml", "replicas: 3", "replicas: three"), /schema: \/spec\/replicas must be integer/],
  ["an unknown kind", edit("silo.yaml", "kind: PodDisruptionBudget", "kind: PodDisruptionBudgit"), /no schema for policy\/v1 PodDisruptionBudgit/],
  ["a probe on an unnamed port", edit("api.yaml", "httpGet: { path: /health/ready, port: http }", "httpGet: { path: /health/ready, port: web }"), /readinessProbe uses port web, which the container does not name/],
  ["a NetworkPolicy on a misspelt port", edit("network-policies.yaml", "port: gateway", "port: gatway"), /NetworkPolicy\/navigator-silo: ingress\[0\] names port gatway/],
  ["a NetworkPolicy selecting nothing", edit("network-policies.yaml", "matchLabels: { app: navigator-silo }\n  policyTypes", "matchLabels: { app: navigator-sillo }\n  policyTypes"), /NetworkPolicy\/navigator-silo: spec\.podSelector selects no pod/],
  ["no default deny", edit("network-policies.yaml", "  podSelector: {}\n  policyTypes: [Ingress]", "  podSelector: { matchLabels: { app: navigator-api } }\n  policyTypes: [Ingress]"), /Deployment\/navigator-api: .*namespace navigator has no default-deny ingress NetworkPolicy/],
  ["a Service selecting nothing", edit("api.yaml", "  selector:\n    app: navigator-api\n  ports", "  selector:\n    app: navigator-apii\n  ports"), /Service\/navigator-api: spec\.selector selects no pod/],
  ["a data dir that is not a volume", edit("api.yaml", "{ name: NAVIGATOR_DATA_DIR, value: /data }", "{ name: NAVIGATOR_DATA_DIR, value: /var/navigator }"), /NAVIGATOR_DATA_DIR \/var\/navigator is not a writable volume/],
  ["replicas beside an HPA", edit("api.yaml", "  strategy:\n", "  replicas: 2\n  strategy:\n"), /spec\.replicas is set while HorizontalPodAutoscaler\/navigator-api owns the count/],
  ["a YAML error", append("rbac.yaml", "---\nkind: [unclosed\n"), /FAIL \S+rbac\.yaml document \d+: YAML:/],
  ["a duplicate key", edit("rbac.yaml", "  name: navigator-silo\n  namespace: navigator\n---", "  name: navigator-silo\n  name: other\n  namespace: navigator\n---"), /FAIL \S+rbac\.yaml document 1: YAML: .*unique/i],
  ["a missing resource", edit("kustomization.yaml", "  - api.yaml", "  - api.yaml\n  - ingress.yaml"), /Kustomization: resource ingress\.yaml does not exist/],
  ["a manifest left out of the kustomization", edit("kustomization.yaml", "  - network-policies.yaml\n", ""), /network-policies\.yaml is beside the kustomization but not in its resources/],
];

for (const [name, breakIt, expected] of cases) {
  test(`fails on ${name}`, () => {
    const { status, out } = validate(breakIt);
    assert.equal(status, 1, out);
    for (const pattern of [expected].flat()) assert.match(out, pattern);
  });
}
