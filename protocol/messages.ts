// Reading chat messages without caring about their shape (text or parts). Zod-free: the client may use it.
import type { ChatMessage, ContentPart } from './types';

/** The text of a message's content (image parts contribute nothing). */
export function contentText(content: string | readonly ContentPart[]): string {
  return typeof content === 'string' ? content : content.map((p) => (p.type === 'text' ? p.text : '')).join('');
}

export function messageText(m: ChatMessage): string {
  return contentText(m.content);
}

export interface DataUrl {
  mediaType: string;
  /** The bytes, base64-encoded. */
  base64: string;
}

/** `data:image/png;base64,AAAA` → its media type and bytes; undefined for any other URL. */
export function parseDataUrl(url: string): DataUrl | undefined {
  const m = /^data:([a-z]+\/[a-z0-9.+-]+)?(?:;[a-z0-9=.-]+)*;base64,([A-Za-z0-9+/=\s]*)$/i.exec(url.slice(0, 256));
  if (!m) return undefined;
  const comma = url.indexOf(',');
  return { mediaType: m[1] ?? 'application/octet-stream', base64: url.slice(comma + 1).replace(/\s+/g, '') };
}
