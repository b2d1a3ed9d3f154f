#!/usr/bin/env node
// Mock LLM upstream for tools/bench/overhead-bench.sh: answers POST /v1/chat/completions (OpenAI wire
// format) at once with a fixed, valid career-path answer, and POST /v1/messages (Anthropic) likewise,
// so that a fallback would still succeed. No dependencies; binds 127.0.0.1 only.
// Usage: node mock-upstream.js PORT
'use strict';
const http = require('http');

const port = Number(process.argv[2] || 0);
const content = JSON.stringify({
  recommendations: [{
    title: 'ML Engineer',
    fitScore: 0.86,
    salaryRange: { min: 130000, max: 200000, currency: 'USD' },
    skillGaps: ['MLOps'],
    nextSteps: ['Ship a model'],
  }],
});
const usage = { prompt_tokens: 120, completion_tokens: 60, total_tokens: 180 };
let seq = 0;

function openai(model) {
  return JSON.stringify({
    id: `chatcmpl-mock${++seq}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: model || 'gpt-4o',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage,
  });
}

function anthropic(model) {
  return JSON.stringify({
    id: `msg_mock${++seq}`,
    type: 'message',
    role: 'assistant',
    model: model || 'claude-sonnet-4-5',
    content: [{ type: 'text', text: content }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens },
  });
}

// The request's "model", if any, without parsing the whole body.
function modelOf(body) {
  const m = /"model"\s*:\s*"([^"]{1,100})"/.exec(body);
  return m ? m[1] : undefined;
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body;
    const path = req.url.split('?')[0];
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      body = openai(modelOf(Buffer.concat(chunks).toString()));
    } else if (req.method === 'POST' && path === '/v1/messages') {
      body = anthropic(modelOf(Buffer.concat(chunks).toString()));
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"not found","type":"invalid_request_error"}}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 65000;
server.headersTimeout = 66000;
server.listen(port, '127.0.0.1', () => {
  console.log(`mock upstream on http://127.0.0.1:${server.address().port}`);
});
const stop = () => server.close(() => process.exit(0)) && setTimeout(() => process.exit(0), 500).unref();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
