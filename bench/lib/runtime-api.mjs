// HAProxy runtime API client: one command per connection over a unix socket;
// the server answers and closes (non-interactive mode).
import net from 'node:net';

export function runtimeCommand(socketPath, command, timeoutMs = 3000) {
  return new Promise((resolve, reject) => {
    let data = '';
    const s = net.connect(socketPath);
    const timer = setTimeout(() => {
      s.destroy();
      if (data) resolve(data);
      else reject(new Error(`no reply to "${command}" on ${socketPath} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.setEncoding('utf8');
    s.on('connect', () => s.write(`${command}\n`));
    s.on('data', (d) => (data += d));
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
  });
}

// "Name: value" lines of `show info` → { Name: 'value' }.
export function parseShowInfo(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}
