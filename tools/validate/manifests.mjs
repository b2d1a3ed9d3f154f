#!/usr/bin/env node
// Validates the Kubernetes manifests under deploy/k8s (or the folder given as the first argument).
//
//   node tools/validate/manifests.mjs [dir]
//
// Every YAML document of every .yaml/.yml file below the folder is parsed the way kubectl parses it
// (YAML 1.1) and checked against the schema of its apiVersion/kind with kubernetes-models (and
// @kubernetes-models/external-secrets); a field that the schema does not know is an error too, as it is
// for kubectl's strict field validation. kustomization.yaml files are parsed and checked (their
// resources exist and list every manifest beside them; their images: entries name images that are used)
// and their images: overrides are applied before the image rules below. Then the project's own rules:
//   - no Secret with data or stringData, and no key, password or connection string inline in an env value;
//   - every container: runAsNonRoot, a numeric non-root runAsUser, RuntimeDefault seccomp,
//     allowPrivilegeEscalation false, a read-only root filesystem with a writable /tmp, every capability
//     dropped, CPU and memory requests and limits, an image pinned by a tag other than "latest" (or a
//     digest), and in a Deployment or StatefulSet a startup, readiness and liveness probe;
//   - references hold: selectors of Services, NetworkPolicies, PodDisruptionBudgets and Deployments match
//     pods, named ports exist, HPA/Ingress/ServiceAccount targets exist, and every namespace that runs
//     pods has a default-deny ingress NetworkPolicy.
// Prints "ok <file> <kind>/<name>" or "FAIL <file> <kind>/<name>: <reasons>" per document and exits 1
// when anything failed.

import { readFileSync, readdirSync, statSync, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const root = path.resolve(process.argv[2] ?? path.join(repo, "deploy/k8s"));

/** API groups whose schemas come from a package other than kubernetes-models. */
const schemaPackages = {
  "external-secrets.io": "@kubernetes-models/external-secrets",
  "generators.external-secrets.io": "@kubernetes-models/external-secrets",
};
/** Groups used only by examples, with no schema package installed: parsed and held to our rules only. */
const noSchemaGroups = new Set(["cert-manager.io"]);
const clusterScoped = new Set([
  "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PriorityClass",
  "StorageClass", "IngressClass", "PersistentVolume", "ClusterSecretStore", "ClusterExternalSecret",
  "ClusterIssuer", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
]);
const kustomizationNames = new Set(["kustomization.yaml", "kustomization.yml", "Kustomization"]);

// ---------------------------------------------------------------------------------------------------
// Loading

function yamlFiles(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) return yamlFiles(full);
      return /\.ya?ml$/.test(e.name) || e.name === "Kustomization" ? [full] : [];
    });
}

/** One entry per YAML document: { file, index, obj, errors }. */
function load(file) {
  const docs = YAML.parseAllDocuments(readFileSync(file, "utf8"), { version: "1.1", prettyErrors: false });
  return docs.flatMap((doc, index) => {
    const errors = [...doc.errors, ...doc.warnings].map((e) => `YAML: ${e.message.split("\n")[0]}`);
    const obj = errors.length ? null : doc.toJS({ maxAliasCount: 100 });
    if (!errors.length && obj == null) return []; // an empty document (a trailing ---)
    return [{ file, index, obj, errors }];
  });
}

// ---------------------------------------------------------------------------------------------------
// Schemas: kubernetes-models validators, plus unknown-field detection from the models' type declarations

function modelSpecifier(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (!group) return `kubernetes-models/${version}/${kind}`;
  return `${schemaPackages[group] ?? "kubernetes-models"}/${group}/${version}/${kind}`;
}

async function schemaCheck(obj) {
  const group = obj.apiVersion.includes("/") ? obj.apiVersion.split("/")[0] : "";
  if (noSchemaGroups.has(group)) return { errors: [], note: `no schema installed for ${group}: YAML and our rules only` };
  const specifier = modelSpecifier(obj.apiVersion, obj.kind);
  let Model;
  try {
    Model = (await import(specifier))[obj.kind];
  } catch {
    Model = undefined;
  }
  if (typeof Model !== "function") return { errors: [`no schema for ${obj.apiVersion} ${obj.kind} (unknown apiVersion or kind?)`] };
  const errors = [];
  try {
    new Model(obj).validate();
  } catch (e) {
    errors.push(...String(e.message).split(/,\s*(?=data\/)/).map((m) => `schema: ${m.replace(/^data/, "")}`));
  }
  const dts = fileURLToPath(import.meta.resolve(specifier)).replace(/\.js$/, ".d.ts");
  unknownFields(obj, { ref: `I${obj.kind}`, file: dts }, "", errors);
  return { errors };
}

const dtsCache = new Map();

/** The interfaces, imports and type aliases of one generated .d.ts file. */
function dtsFile(file) {
  if (dtsCache.has(file)) return dtsCache.get(file);
  const text = existsSync(file) ? readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "") : "";
  const imports = new Map();
  for (const m of text.matchAll(/import \{([^}]+)\} from "([^"]+)";/g)) {
    for (const name of m[1].split(",").map((s) => s.trim())) imports.set(name, m[2]);
  }
  const aliases = new Map();
  for (const m of text.matchAll(/export type \{([^}]+)\}/g)) {
    for (const pair of m[1].split(",")) {
      const [from, to] = pair.split(" as ").map((s) => s.trim());
      if (to) aliases.set(to, from);
    }
  }
  const interfaces = new Map();
  for (const m of text.matchAll(/export interface (\w+)[^{]*\{/g)) {
    interfaces.set(m[1], text.slice(m.index + m[0].length, closingBrace(text, m.index + m[0].length - 1)));
  }
  const entry = { file, imports, aliases, interfaces, props: new Map() };
  dtsCache.set(file, entry);
  return entry;
}

function closingBrace(text, open) {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === "{") depth++;
    else if (text[i] === "}" && --depth === 0) return i;
  }
  return text.length;
}

/** Splits an interface body into { name: typeText } (or { "[key]": typeText } for an index signature). */
function members(body) {
  const out = {};
  let i = 0;
  while (i < body.length) {
    const m = /^\s*(?:"([^"]+)"|\[key: string\])\??:\s*/.exec(body.slice(i));
    if (!m) break;
    i += m[0].length;
    let depth = 0;
    let start = i;
    for (; i < body.length; i++) {
      const ch = body[i];
      if (ch === '"') i = body.indexOf('"', i + 1);
      else if ("{<([".includes(ch)) depth++;
      else if ("}>)]".includes(ch)) depth--;
      else if (ch === ";" && depth === 0) break;
    }
    out[m[1] ?? "[key]"] = body.slice(start, i).trim();
    i++;
  }
  return out;
}

/** A type text as { object: {name: type} } | { map: type } | { array: type } | { ref, file } | null (anything else). */
function typeOf(text, file) {
  text = text.trim();
  let m;
  if ((m = /^Array<([\s\S]+)>$/.exec(text))) return { array: typeOf(m[1], file) };
  if (text.startsWith("{") && text.endsWith("}")) {
    const props = members(text.slice(1, -1));
    if ("[key]" in props) return { map: typeOf(props["[key]"], file) };
    return { object: Object.fromEntries(Object.entries(props).map(([k, v]) => [k, typeOf(v, file)])) };
  }
  if (/^\w+$/.test(text)) return { ref: text, file };
  return null;
}

/** Resolves a named type to { object } or null (a union, a primitive, an unresolvable name). */
function resolve(t) {
  const here = dtsFile(t.file);
  let file = t.file;
  let name = t.ref;
  if (!here.interfaces.has(name) && here.imports.has(name)) {
    const spec = here.imports.get(name);
    try {
      file = spec.startsWith(".")
        ? path.resolve(path.dirname(t.file), spec.replace(/\.js$/, ".d.ts"))
        : fileURLToPath(import.meta.resolve(spec)).replace(/\.js$/, ".d.ts");
    } catch {
      return null;
    }
  }
  const target = dtsFile(file);
  name = target.aliases.get(name) ?? name;
  if (!target.interfaces.has(name)) return null;
  if (!target.props.has(name)) target.props.set(name, typeOf(`{${target.interfaces.get(name)}}`, file));
  return target.props.get(name);
}

function unknownFields(value, type, at, errors) {
  if (!type || value == null) return;
  if (type.ref) return unknownFields(value, resolve(type), at, errors);
  if (type.array && Array.isArray(value)) return value.forEach((v, i) => unknownFields(v, type.array, `${at}[${i}]`, errors));
  if (type.map && typeof value === "object") return Object.entries(value).forEach(([k, v]) => unknownFields(v, type.map, `${at}.${k}`, errors));
  if (type.object && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (!(k in type.object)) errors.push(`unknown field ${at ? `${at}.` : ""}${k}`);
      else unknownFields(v, type.object[k], at ? `${at}.${k}` : k, errors);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Kustomize (the subset this repository uses: local resource files and images:)

function checkKustomization(doc, docsByFile) {
  const k = doc.obj;
  const dir = path.dirname(doc.file);
  const errors = [];
  const resources = k.resources ?? [];
  const listed = new Set();
  for (const r of resources) {
    const full = path.resolve(dir, r);
    if (!existsSync(full)) errors.push(`resource ${r} does not exist`);
    else if (!statSync(full).isFile()) errors.push(`resource ${r} is not a file (this validator reads plain files)`);
    else listed.add(full);
  }
  for (const f of readdirSync(dir)) {
    const full = path.join(dir, f);
    if (/\.ya?ml$/.test(f) && !kustomizationNames.has(f) && statSync(full).isFile() && !listed.has(full)) {
      errors.push(`${f} is beside the kustomization but not in its resources (it would never be applied)`);
    }
  }
  const images = k.images ?? [];
  const used = [...listed].flatMap((f) => (docsByFile.get(f) ?? []).flatMap((d) => containersOf(d.obj).map((c) => imageName(c.image))));
  for (const img of images) {
    if (!img.name) errors.push("an images: entry has no name");
    else if (!used.includes(img.name)) errors.push(`images: ${img.name} is not used by any container in its resources`);
    if (img.newTag === "latest") errors.push(`images: ${img.name} newTag is "latest"`);
  }
  return { errors, listed, images };
}

const imageName = (ref = "") => ref.replace(/@.*$/, "").replace(/:[^/:]*$/, "");

function effectiveImage(ref, images) {
  const img = images.find((i) => i.name === imageName(ref));
  if (!img) return ref;
  const digest = ref.includes("@") ? ref.slice(ref.indexOf("@")) : "";
  const last = ref.replace(/@.*$/, "").split("/").pop();
  const tag = last.includes(":") ? last.slice(last.indexOf(":") + 1) : undefined;
  const name = img.newName ?? img.name;
  if (img.digest) return `${name}@${img.digest}`;
  return `${name}${img.newTag ? `:${img.newTag}` : tag ? `:${tag}` : ""}${digest}`;
}

function imageProblem(ref) {
  if (!ref) return "no image";
  if (/@sha256:[0-9a-f]{64}$/.test(ref)) return null;
  const last = ref.split("/").pop();
  if (!last.includes(":")) return `image ${ref} has no tag (it means latest)`;
  if (last.endsWith(":latest")) return `image ${ref} uses the latest tag`;
  return null;
}

// ---------------------------------------------------------------------------------------------------
// The project's rules

const workloadKinds = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"]);

function podSpecOf(obj) {
  if (!obj || !workloadKinds.has(obj.kind)) return null;
  if (obj.kind === "Pod") return obj.spec ?? null;
  if (obj.kind === "CronJob") return obj.spec?.jobTemplate?.spec?.template?.spec ?? null;
  return obj.spec?.template?.spec ?? null;
}

function podLabelsOf(obj) {
  if (obj.kind === "Pod") return obj.metadata?.labels ?? {};
  if (obj.kind === "CronJob") return obj.spec?.jobTemplate?.spec?.template?.metadata?.labels ?? {};
  return obj.spec?.template?.metadata?.labels ?? {};
}

function containersOf(obj) {
  const spec = podSpecOf(obj);
  return spec ? [...(spec.initContainers ?? []), ...(spec.containers ?? [])] : [];
}

const secretEnvName = (name) =>
  /^ConnectionStrings__/.test(name) ||
  /^Auth__(ClientKeys__[^_]+|AdminKeys__.+__Key)$/.test(name) ||
  /(^|_)(API_KEY|CLIENT_KEY|ADMIN_KEY|PASSWORD|SECRET|TOKEN)$/i.test(name) ||
  /Password$/.test(name);

function checkSecretValues(obj, errors) {
  if (obj.kind === "Secret" && (Object.keys(obj.data ?? {}).length || Object.keys(obj.stringData ?? {}).length)) {
    errors.push("a Secret with data or stringData: secret values never live in the repository (deploy/README.md shows how to create it)");
  }
  for (const c of containersOf(obj)) {
    for (const e of c.env ?? []) {
      if (e.value !== undefined && e.value !== "" && secretEnvName(e.name)) {
        errors.push(`container ${c.name}: env ${e.name} has an inline value; take it from a Secret (secretKeyRef)`);
      }
    }
  }
}

function checkPod(obj, images, errors) {
  const spec = podSpecOf(obj);
  if (!spec) return;
  const podSec = spec.securityContext ?? {};
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) errors.push("uses the host's network, PID or IPC namespace");
  const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]));
  const needsProbes = obj.kind === "Deployment" || obj.kind === "StatefulSet";
  const init = new Set((spec.initContainers ?? []).map((c) => c.name));
  for (const c of containersOf(obj)) {
    const where = `container ${c.name}`;
    const sec = c.securityContext ?? {};
    const eff = (k) => sec[k] ?? podSec[k];
    if (eff("runAsNonRoot") !== true) errors.push(`${where}: runAsNonRoot is not true`);
    const uid = eff("runAsUser");
    if (!Number.isInteger(uid) || uid <= 0) errors.push(`${where}: runAsUser is not a numeric non-root UID`);
    if (eff("seccompProfile")?.type !== "RuntimeDefault") errors.push(`${where}: seccompProfile is not RuntimeDefault`);
    if (sec.allowPrivilegeEscalation !== false) errors.push(`${where}: allowPrivilegeEscalation is not false`);
    if (sec.privileged === true) errors.push(`${where}: privileged`);
    if (sec.readOnlyRootFilesystem !== true) errors.push(`${where}: readOnlyRootFilesystem is not true`);
    if (!(sec.capabilities?.drop ?? []).includes("ALL")) errors.push(`${where}: capabilities.drop does not include ALL`);
    if ((sec.capabilities?.add ?? []).length) errors.push(`${where}: adds capabilities ${sec.capabilities.add.join(", ")}`);

    const res = c.resources ?? {};
    for (const [kind, r] of [["requests", res.requests], ["limits", res.limits]]) {
      for (const name of ["cpu", "memory"]) if (r?.[name] === undefined) errors.push(`${where}: no ${name} ${kind}`);
    }

    const image = effectiveImage(c.image, images);
    const problem = imageProblem(image);
    if (problem) errors.push(`${where}: ${problem}`);

    const ports = new Set((c.ports ?? []).map((p) => p.name).filter(Boolean));
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      if (needsProbes && !init.has(c.name) && !c[probe]) errors.push(`${where}: no ${probe}`);
      const port = c[probe]?.httpGet?.port ?? c[probe]?.tcpSocket?.port;
      if (typeof port === "string" && !ports.has(port)) errors.push(`${where}: ${probe} uses port ${port}, which the container does not name`);
    }

    const mounts = c.volumeMounts ?? [];
    for (const m of mounts) if (!volumes.has(m.name)) errors.push(`${where}: mounts volume ${m.name}, which the pod does not have`);
    const writable = (dir) => mounts.some((m) => m.mountPath === dir && !m.readOnly && (volumes.get(m.name)?.emptyDir || volumes.get(m.name)?.persistentVolumeClaim));
    if (sec.readOnlyRootFilesystem === true && !writable("/tmp")) errors.push(`${where}: the root filesystem is read-only and /tmp is not a writable volume`);
    const dataDir = (c.env ?? []).find((e) => e.name === "NAVIGATOR_DATA_DIR")?.value;
    if (dataDir && !writable(dataDir)) errors.push(`${where}: NAVIGATOR_DATA_DIR ${dataDir} is not a writable volume`);
  }
}

// ---------------------------------------------------------------------------------------------------
// References between documents

function selects(selector, labels) {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    const inValues = (e.values ?? []).includes(labels[e.key]);
    if (e.operator === "In" && !inValues) return false;
    if (e.operator === "NotIn" && has && inValues) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

const isEmptySelector = (s) => !s || (!Object.keys(s.matchLabels ?? {}).length && !(s.matchExpressions ?? []).length);

function checkReferences(doc, all) {
  const { obj } = doc;
  const errors = [];
  const ns = obj.metadata?.namespace;
  // Examples (files no kustomization lists) are checked among themselves, the applied set among itself.
  const inNs = all.filter((d) => d.obj?.metadata?.namespace === ns && !d.example === !doc.example);
  const pods = inNs.filter((d) => podSpecOf(d.obj)).map((d) => ({
    doc: d,
    labels: podLabelsOf(d.obj),
    ports: containersOf(d.obj).flatMap((c) => (c.ports ?? []).map((p) => p.name).filter(Boolean)),
  }));
  const find = (kind, name) => inNs.find((d) => d.obj.kind === kind && d.obj.metadata?.name === name);
  const podsFor = (selector, what) => {
    const matched = pods.filter((p) => selects(selector, p.labels));
    if (!matched.length) errors.push(`${what} selects no pod of the manifests`);
    return matched;
  };
  const namedPort = (matched, port, what) => {
    if (typeof port === "string" && matched.length && !matched.some((p) => p.ports.includes(port))) {
      errors.push(`${what} names port ${port}, which no selected container has`);
    }
  };

  if (!clusterScoped.has(obj.kind) && !ns) errors.push("no metadata.namespace");
  switch (obj.kind) {
    case "Deployment":
    case "StatefulSet":
    case "DaemonSet": {
      if (!selects(obj.spec?.selector, podLabelsOf(obj))) errors.push("spec.selector does not match the pod template's labels");
      const sa = podSpecOf(obj)?.serviceAccountName;
      if (sa && sa !== "default" && !find("ServiceAccount", sa)) errors.push(`serviceAccountName ${sa} is not in the manifests`);
      const hpa = inNs.find((d) => d.obj.kind === "HorizontalPodAutoscaler" && d.obj.spec?.scaleTargetRef?.kind === obj.kind && d.obj.spec?.scaleTargetRef?.name === obj.metadata?.name);
      if (hpa && obj.spec?.replicas !== undefined) errors.push(`spec.replicas is set while HorizontalPodAutoscaler/${hpa.obj.metadata.name} owns the count (every apply would reset it)`);
      if (!inNs.some((d) => d.obj.kind === "NetworkPolicy" && isEmptySelector(d.obj.spec?.podSelector) && (d.obj.spec?.policyTypes ?? []).includes("Ingress") && !(d.obj.spec?.ingress ?? []).length)) {
        errors.push(`namespace ${ns} has no default-deny ingress NetworkPolicy`);
      }
      break;
    }
    case "Service": {
      const matched = podsFor({ matchLabels: obj.spec?.selector }, "spec.selector");
      for (const p of obj.spec?.ports ?? []) namedPort(matched, p.targetPort, `port ${p.name ?? p.port}`);
      break;
    }
    case "NetworkPolicy": {
      const selected = isEmptySelector(obj.spec?.podSelector) ? pods : podsFor(obj.spec.podSelector, "spec.podSelector");
      (obj.spec?.ingress ?? []).forEach((rule, i) => {
        for (const p of rule.ports ?? []) namedPort(selected, p.port, `ingress[${i}]`);
        for (const peer of rule.from ?? []) {
          if (peer.podSelector && !peer.namespaceSelector && !isEmptySelector(peer.podSelector)) podsFor(peer.podSelector, `ingress[${i}].from.podSelector`);
        }
      });
      break;
    }
    case "PodDisruptionBudget":
      podsFor(obj.spec?.selector, "spec.selector");
      break;
    case "HorizontalPodAutoscaler": {
      const ref = obj.spec?.scaleTargetRef ?? {};
      const target = find(ref.kind, ref.name);
      if (!target) errors.push(`scaleTargetRef ${ref.kind}/${ref.name} is not in the manifests`);
      const cpu = (obj.spec?.metrics ?? []).some((m) => m.resource?.name === "cpu" && m.resource?.target?.type === "Utilization");
      if (target && cpu) {
        for (const c of podSpecOf(target.obj)?.containers ?? []) {
          if (c.resources?.requests?.cpu === undefined) errors.push(`container ${c.name} of ${ref.name} has no CPU request, so CPU utilization is undefined`);
        }
      }
      break;
    }
    case "Ingress":
      for (const rule of obj.spec?.rules ?? []) {
        for (const p of rule.http?.paths ?? []) {
          const svc = p.backend?.service;
          if (!svc) continue;
          const target = find("Service", svc.name);
          if (!target) errors.push(`backend service ${svc.name} is not in the manifests`);
          else if (!(target.obj.spec?.ports ?? []).some((sp) => (svc.port?.name ? sp.name === svc.port.name : sp.port === svc.port?.number))) {
            errors.push(`backend ${svc.name} has no port ${svc.port?.name ?? svc.port?.number}`);
          }
        }
      }
      break;
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------------

const files = yamlFiles(root);
if (!files.length) {
  console.error(`FAIL no YAML files under ${root}`);
  process.exit(1);
}
const docs = files.flatMap(load);
const docsByFile = new Map();
for (const d of docs) docsByFile.set(d.file, [...(docsByFile.get(d.file) ?? []), d]);

const kustomizations = [];
const results = [];
for (const d of docs.filter((d) => kustomizationNames.has(path.basename(d.file)))) {
  const k = d.errors.length ? { errors: d.errors, listed: new Set(), images: [] } : checkKustomization(d, docsByFile);
  kustomizations.push(k);
  d.done = true;
  results.push({ doc: d, label: "Kustomization", errors: k.errors });
}
const manifests = docs.filter((d) => !d.done);
for (const d of manifests) d.example = !kustomizations.some((k) => k.listed.has(d.file));

for (const d of manifests) {
  const { obj } = d;
  const errors = [...d.errors];
  let note;
  let label = `document ${d.index + 1}`;
  if (!errors.length) {
    if (typeof obj !== "object" || Array.isArray(obj) || !obj.apiVersion || !obj.kind || !obj.metadata?.name) {
      errors.push("not a Kubernetes object (apiVersion, kind and metadata.name are required)");
    } else {
      label = `${obj.kind}/${obj.metadata.name}`;
      const schema = await schemaCheck(obj);
      errors.push(...schema.errors);
      note = schema.note;
      const images = kustomizations.filter((k) => k.listed.has(d.file)).flatMap((k) => k.images);
      checkSecretValues(obj, errors);
      checkPod(obj, images, errors);
      errors.push(...checkReferences(d, manifests.filter((m) => !m.errors.length && m.obj?.kind)));
    }
  }
  results.push({ doc: d, label, errors, note });
}

let failed = 0;
for (const { doc, label, errors, note } of results) {
  const file = path.relative(process.cwd(), doc.file);
  if (errors.length) {
    failed++;
    console.log(`FAIL ${file} ${label}: ${errors.join("; ")}`);
  } else {
    console.log(`ok ${file} ${label}${note ? ` (${note})` : ""}`);
  }
}
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
