// Proves that openapi.sh passes a clean OpenAPI 3.1 document and fails on each rule of spectral.yaml
// (and on a spectral:oas warning): every case writes a variant of a small document to a temporary folder.
//
//   node --test tools/validate/
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "openapi.sh");

const problem = { "application/problem+json": { schema: { $ref: "#/components/schemas/ProblemDetails" } } };
const document = () => ({
  openapi: "3.1.1",
  info: { title: "Navigator.Api | v1", version: "1.0.0", description: "Career Path Navigator gateway.", contact: { name: "Platform team" } },
  servers: [{ url: "https://navigator.example.com" }],
  tags: [{ name: "CareerPaths", description: "Career-path suggestions." }],
  paths: {
    "/v1/career-paths": {
      post: {
        tags: ["CareerPaths"],
        summary: "Suggests career paths for a profile.",
        description: "Renders the active prompt and asks the providers.",
        operationId: "CreateCareerPaths",
        security: [{ Bearer: [] }],
        requestBody: { required: true, content: { "application/json": { schema: { type: "object" } } } },
        responses: {
          200: { description: "OK", content: { "application/json": { schema: { type: "object" } } } },
          400: { description: "Invalid request", content: problem },
        },
      },
    },
  },
  components: {
    securitySchemes: { Bearer: { type: "http", scheme: "bearer", description: "A client or admin key." } },
    schemas: { ProblemDetails: { type: "object", properties: { type: { type: ["string", "null"] }, status: { type: ["integer", "null"] } } } },
  },
});

function lint(change) {
  const dir = mkdtempSync(path.join(tmpdir(), "navigator-openapi-"));
  try {
    const doc = document();
    change?.(doc, doc.paths["/v1/career-paths"].post);
    const file = path.join(dir, "openapi.json");
    writeFileSync(file, JSON.stringify(doc, null, 2));
    const run = spawnSync(script, [file], { encoding: "utf8" });
    return { status: run.status, out: run.stdout + run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("a clean document passes", () => {
  const { status, out } = lint();
  assert.equal(status, 0, out);
});

const cases = [
  ["no Bearer scheme", (d, op) => { delete d.components.securitySchemes; delete op.security; }, /navigator-bearer-scheme/],
  ["an API-key scheme instead of Bearer", (d, op) => { d.components.securitySchemes = { Key: { type: "apiKey", in: "header", name: "X-Key" } }; op.security = [{ Key: [] }]; }, /navigator-bearer-scheme/],
  ["a /v1 operation without security", (d, op) => { delete op.security; }, /navigator-operation-security/],
  ["an error as application/json", (d, op) => { op.responses[400].content = { "application/json": problem["application/problem+json"] }; }, /navigator-problem-details/],
  ["an operation without a summary", (d, op) => { delete op.summary; }, /navigator-operation-summary/],
  ["a spectral:oas warning (no contact)", (d) => { delete d.info.contact; }, /info-contact/],
  ["a broken $ref", (d, op) => { op.responses[400].content["application/problem+json"].schema.$ref = "#/components/schemas/Nope"; }, /invalid-ref/],
];

for (const [name, change, expected] of cases) {
  test(`fails on ${name}`, () => {
    const { status, out } = lint(change);
    assert.equal(status, 1, out);
    assert.match(out, expected);
  });
}

test("a missing file is a usage error", () => {
  const run = spawnSync(script, [path.join(tmpdir(), "no-such-openapi.json")], { encoding: "utf8" });
  assert.equal(run.status, 2, run.stderr);
});
