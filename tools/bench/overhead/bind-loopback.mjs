// Preloaded into the peer gateway (node --import): its server listens on every interface by default;
// this makes any listen() without a host bind to 127.0.0.1, so the benchmark stays on loopback.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' || typeof args[0] === 'string' && /^\d+$/.test(args[0])) {
    const callback = args.find((a) => typeof a === 'function');
    return listen.call(this, Number(args[0]), '127.0.0.1', callback);
  }
  if (args[0] && typeof args[0] === 'object' && args[0].port !== undefined) {
    args[0] = { ...args[0], host: '127.0.0.1' };
  }
  return listen.apply(this, args);
};
