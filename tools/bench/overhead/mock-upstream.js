// A mock OpenAI upstream for the overhead benchmark: POST /v1/chat/completions answers at once with a
// valid career-path completion. Loopback only. Usage: node mock-upstream.js PORT
'use strict';
const http = require('node:http');

const content = JSON.stringify({
  recommendations: [
    { title: 'ML Engineer', fitScore: 0.86, salaryRange: { min: 130000, max: 200000, currency: 'USD' },
      skillGaps: ['MLOps'], nextSteps: ['Ship a model to production'] },
    { title: 'AI Engineer', fitScore: 0.8, salaryRange: { min: 120000, max: 180000, currency: 'USD' },
      skillGaps: ['LLM evaluation'], nextSteps: ['Build a RAG prototype'] },
    { title: 'Data Scientist', fitScore: 0.7, salaryRange: { min: 110000, max: 170000, currency: 'USD' },
      skillGaps: ['Statistics'], nextSteps: ['Take a causal inference course'] },
  ],
});
const body = JSON.stringify({
  id: 'chatcmpl-bench', object: 'chat.completion', created: 1764300000, model: 'gpt-4o-2024-08-06',
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 320, completion_tokens: 160, total_tokens: 480 },
});

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.method === 'POST' && req.url.endsWith('/chat/completions')) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
});
server.keepAliveTimeout = 65000;
server.listen(Number(process.argv[2] || 5098), '127.0.0.1', () => console.log(`mock upstream on 127.0.0.1:${server.address().port}`));
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections(); // keep-alive connections would hold close() for a minute
  });
}
