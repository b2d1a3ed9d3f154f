// Preloaded into the Portkey gateway (node --require): its start-server.js calls
// serve({ port }) without a hostname, which would listen on every interface. This makes any
// listen() that names no host bind 127.0.0.1 instead, so the benchmark stays on loopback.
'use strict';
const net = require('net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'object' && args[0] !== null && !Array.isArray(args[0])) {
    if (args[0].path === undefined && !args[0].host) args[0] = { ...args[0], host: '127.0.0.1' };
  } else if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
    if (typeof args[1] !== 'string' || args[1] === '') {
      if (args.length > 1 && args[1] === undefined) args[1] = '127.0.0.1';
      else args.splice(1, 0, '127.0.0.1');
    }
  }
  return listen.apply(this, args);
};
