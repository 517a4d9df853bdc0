// The reference of what any proxy costs on this machine: a bare node:http proxy in its own process,
// with none of the gateway's work (no auth, validation, chain, health, stats, queue, budget): read the
// body, swap the model, POST it upstream over a keep-alive agent, parse the answer, send it back.
// The benchmark runs it as one more arm, so the gateway's figures read against the floor a Node
// proxy cannot go below here. Prints `{"port": …}` on one line, then serves until killed.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const upstreamPort = Number(process.argv[2]);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string; stream?: boolean };
    body.model = 'ok';
    const out = JSON.stringify(body);
    const up = http.request(
      {
        host: '127.0.0.1',
        port: upstreamPort,
        path: '/v1/chat/completions',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) },
      },
      (ur) => {
        if (body.stream) {
          // Streams are piped through as they come.
          res.writeHead(ur.statusCode ?? 502, { 'content-type': 'text/event-stream' });
          ur.pipe(res);
          return;
        }
        const parts: Buffer[] = [];
        ur.on('data', (c: Buffer) => parts.push(c));
        ur.on('end', () => {
          const text = JSON.stringify(JSON.parse(Buffer.concat(parts).toString('utf8')));
          res.writeHead(ur.statusCode ?? 502, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(text),
          });
          res.end(text);
        });
      },
    );
    up.on('error', (e) => res.writeHead(502).end(e.message));
    up.end(out);
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.once('SIGTERM', () => process.exit(0));
process.once('SIGINT', () => process.exit(0));
