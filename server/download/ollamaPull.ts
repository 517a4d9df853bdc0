// Ollama's own download: POST /api/pull streams NDJSON progress ({status, total, completed}) and
// ends with {status: "success"}; Ollama resumes and verifies layers itself.

export interface PullProgress {
  status: string;
  total?: number;
  completed?: number;
}

export async function ollamaPull(
  baseUrl: string,
  name: string,
  o: { signal?: AbortSignal; onProgress?: (p: PullProgress) => void } = {},
): Promise<{ bytes: number; digest?: string }> {
  const res = await fetch(`${baseUrl.replace(/\/+$/, '')}/api/pull`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: name, stream: true }),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  if (!res.ok || !res.body)
    throw new Error(`ollama pull ${name} failed: HTTP ${res.status} ${await res.text().catch(() => '')}`.trim());
  let buf = '';
  let bytes = 0;
  let digest: string | undefined;
  let ok = false;
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      const m = JSON.parse(line) as PullProgress & { error?: string; digest?: string };
      if (m.error) throw new Error(`ollama pull ${name} failed: ${m.error}`);
      if (m.total) bytes = Math.max(bytes, m.total);
      if (m.digest) digest = m.digest;
      if (m.status === 'success') ok = true;
      o.onProgress?.(m);
    }
  }
  if (!ok)
    throw new Error(`ollama pull ${name} ended without "success": the connection closed early; run it again to resume`);
  return { bytes, ...(digest ? { digest } : {}) };
}
