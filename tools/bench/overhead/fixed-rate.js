#!/usr/bin/env node
// Open-loop load at a fixed offered rate, for tools/bench/overhead-bench.sh. Requests are spread
// evenly in time (scheduled every millisecond by how many are due), each sent when due whether or
// not earlier ones have answered, over keep-alive connections to one loopback URL. hey -q was not
// used for this: its workers tick in step, so the load arrives in bursts of <workers> requests.
// Prints one JSON line: sent, completed, achieved rate, non-2xx, errors, latency percentiles (ms,
// from the send to the last byte of the answer). Stops by itself after the duration plus a drain of
// at most the request timeout. No dependencies.
// Usage: node fixed-rate.js --url URL --rate RPS --duration SECONDS [--header 'K: V']... [--body JSON]
//        [--vary-user] (replaces "bench-user" in the body with bench-<n mod 1000>) [--timeout-ms 10000]
'use strict';
const http = require('http');

const opt = { headers: {}, body: '', rate: 100, duration: 10, timeoutMs: 10000, varyUser: false, maxInFlight: 4096 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--url') opt.url = new URL(argv[++i]);
  else if (a === '--rate') opt.rate = Number(argv[++i]);
  else if (a === '--duration') opt.duration = Number(argv[++i]);
  else if (a === '--body') opt.body = argv[++i];
  else if (a === '--timeout-ms') opt.timeoutMs = Number(argv[++i]);
  else if (a === '--max-in-flight') opt.maxInFlight = Number(argv[++i]);
  else if (a === '--vary-user') opt.varyUser = true;
  else if (a === '--header') {
    const h = argv[++i];
    const c = h.indexOf(':');
    opt.headers[h.slice(0, c).trim()] = h.slice(c + 1).trim();
  } else throw new Error(`unknown argument ${a}`);
}
if (!opt.url || !(opt.rate > 0) || !(opt.duration > 0)) throw new Error('need --url, --rate > 0 and --duration > 0');

const bodies = [];
for (let u = 0; u < (opt.varyUser ? 1000 : 1); u++) {
  bodies.push(Buffer.from(opt.varyUser ? opt.body.split('"bench-user"').join(`"bench-${u}"`) : opt.body));
}
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 4096 });
const total = Math.round(opt.rate * opt.duration);
const latencies = new Float64Array(total);
const statuses = {};
const errors = {};
let sent = 0, completed = 0, inFlight = 0, skipped = 0, maxLagMs = 0, lastDone = 0;

function send(n) {
  const body = bodies[n % bodies.length];
  const t0 = process.hrtime.bigint();
  inFlight++;
  let finished = false;
  const done = (status, err) => {
    if (finished) return;
    finished = true;
    inFlight--;
    const t1 = process.hrtime.bigint();
    lastDone = Number(t1 - start) / 1e6;
    if (err) {
      errors[err] = (errors[err] || 0) + 1;
    } else {
      statuses[status] = (statuses[status] || 0) + 1;
      latencies[completed++] = Number(t1 - t0) / 1e6;
    }
  };
  const req = http.request({
    agent, host: opt.url.hostname, port: opt.url.port, path: opt.url.pathname + opt.url.search, method: 'POST',
    headers: { ...opt.headers, 'content-length': body.length }, timeout: opt.timeoutMs,
  }, (res) => {
    res.on('data', () => {});
    res.on('end', () => done(res.statusCode));
    res.on('error', (e) => done(0, e.code || e.message));
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => done(0, e.code || e.message));
  req.end(body);
}

const start = process.hrtime.bigint();
const tick = setInterval(() => {
  const elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
  const due = Math.min(total, Math.floor((elapsedMs / 1000) * opt.rate));
  if (due > sent) maxLagMs = Math.max(maxLagMs, elapsedMs - (sent / opt.rate) * 1000);
  while (sent < due) {
    if (inFlight >= opt.maxInFlight) skipped++;
    else send(sent);
    sent++;
  }
  if (sent >= total) {
    clearInterval(tick);
    drain();
  }
}, 1);

function drain() {
  const deadline = Date.now() + opt.timeoutMs + 1000;
  const wait = setInterval(() => {
    if (inFlight === 0 || Date.now() > deadline) {
      clearInterval(wait);
      report();
    }
  }, 5);
}

function pct(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function report() {
  const lat = Float64Array.from(latencies.subarray(0, completed)).sort();
  let ok = 0;
  for (const [s, n] of Object.entries(statuses)) if (s >= 200 && s < 300) ok += n;
  const errCount = Object.values(errors).reduce((a, b) => a + b, 0);
  const r3 = (x) => (x === null ? null : Math.round(x * 1000) / 1000);
  console.log(JSON.stringify({
    offered_rps: opt.rate, duration_s: opt.duration, sent: sent - skipped, skipped, completed,
    achieved_rps: Math.round((completed / Math.max(opt.duration, lastDone / 1000)) * 10) / 10,
    ok, non2xx: completed - ok, errors: errCount, in_flight_at_end: inFlight,
    p50_ms: r3(pct(lat, 50)), p90_ms: r3(pct(lat, 90)), p99_ms: r3(pct(lat, 99)), max_ms: r3(lat.length ? lat[lat.length - 1] : null),
    max_send_lag_ms: r3(maxLagMs), statuses, error_kinds: errors,
  }));
  agent.destroy();
  process.exit(0);
}
