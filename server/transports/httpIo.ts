// HTTP input/output shared by the listener and the gateway: a size-limited body reader, JSON
// replies and the OpenAI error envelope. Imports nothing of the project, so no circle runs through it.
import type http from 'node:http';

export class BodyTooLarge extends Error {}

export function readBody(req: http.IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    let over = false;
    // Past the limit, keep reading (and dropping) the body so the 413 can still be sent back.
    req.on('data', (c: Buffer) => {
      if (over) return;
      n += c.length;
      if (n > maxBytes) {
        over = true;
        chunks.length = 0;
        reject(new BodyTooLarge(`request body exceeds ${maxBytes} bytes (server.maxMessageBytes)`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return void res.end();
  const text = JSON.stringify(body);
  const head = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers };
  res.writeHead(status, head).end(text);
}

export const openAiError = (message: string, type: string, code: string | null, param: string | null = null) => ({
  error: { message, type, param, code },
});
