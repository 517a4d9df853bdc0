// Secret redaction for everything a provider lets out: error messages, log lines, attempt records.
// Two layers, because either alone leaks: the exact keys we hold (they may have any shape, e.g. a
// proxy token) and well-known key shapes (a server may echo a key we never held, such as a key
// from a user's custom header or a stale one quoted back in a 401 body).

/** What a redacted secret is replaced with (the daemon logger uses the same marker). */
export const REDACTED = '***';

/** Shorter strings are not treated as secrets: replacing "a" everywhere would wreck messages. */
const MIN_SECRET_LENGTH = 4;

/** Key shapes of the providers we speak to, and generic credential carriers. */
const SECRET_PATTERNS: readonly RegExp[] = [
  /\bsk-[A-Za-z0-9_-]{12,}/g, // OpenAI, Anthropic (sk-ant-…), OpenRouter (sk-or-…)
  /\bAIza[0-9A-Za-z_-]{20,}/g, // Google API keys
  /\bgsk_[A-Za-z0-9]{20,}/g, // Groq
  /\bhf_[A-Za-z0-9]{20,}/g, // Hugging Face
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  /([?&](?:key|api_key|token|access_token)=)[^&\s#"']+/gi, // Gemini's ?key= if a URL ever carries it
  /\b((?:x-api-key|x-goog-api-key|api[_-]?key|authorization|access_token|token)["']?\s*[:=]\s*["']?)(?!(?:Bearer|Basic)\s)[^\s"'&,;}]{4,}/gi,
];

/** The text of any thrown value or string, with every secret replaced by `***`. */
export function redact(value: unknown, secrets: Iterable<string | undefined> = []): string {
  let out = describe(value);
  for (const s of secrets) {
    if (s === undefined || s.length < MIN_SECRET_LENGTH) continue;
    out = out.split(s).join(REDACTED);
    const encoded = encodeURIComponent(s);
    if (encoded !== s) out = out.split(encoded).join(REDACTED);
  }
  for (const re of SECRET_PATTERNS) {
    out = out.replace(re, (match: string, prefix?: unknown) => {
      // Keep "Bearer"/"x-api-key:" so the reader still sees which credential was involved.
      if (typeof prefix === 'string' && match.startsWith(prefix)) {
        return /^(Bearer|Basic)$/i.test(prefix) ? `${prefix} ${REDACTED}` : `${prefix}${REDACTED}`;
      }
      return REDACTED;
    });
  }
  return out;
}

/** A redactor bound to a live source of secrets (keys can change at any time through setSecret). */
export function createRedactor(getSecrets: () => Iterable<string | undefined>): (value: unknown) => string {
  return (value) => redact(value, getSecrets());
}

function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) {
    // Include the cause chain: undici hides the useful part ("connect ECONNREFUSED …") there.
    const parts = [value.message];
    let cause: unknown = value.cause;
    for (let depth = 0; cause !== undefined && depth < 3; depth++) {
      parts.push(cause instanceof Error ? cause.message : String(cause));
      cause = cause instanceof Error ? cause.cause : undefined;
    }
    return parts.filter((p) => p.length > 0).join(': ');
  }
  if (value === undefined) return '';
  try {
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
  } catch {
    return String(value);
  }
}
