// Fill-in-the-middle for chat models: editor completions send the text before and after the cursor;
// a model without FIM tokens or a /completions endpoint is asked, in chat form, for exactly the text
// to insert, and its answer is cleaned of what chat models add anyway (code fences, the prefix or the
// suffix repeated around the insertion).
import type { ChatMessage } from '../../protocol/types';

export const FIM_SYSTEM_PROMPT =
  'You complete code and text at a cursor. You are given the text before the cursor (PREFIX) and after it ' +
  '(SUFFIX). Answer with exactly the text to insert at the cursor: no explanation, no code fences, and do ' +
  'not repeat the prefix or the suffix. If nothing should be inserted, answer with nothing.';

const PREFIX_TAG = '<PREFIX>';
const SUFFIX_TAG = '<SUFFIX>';

export function fimChatMessages(prefix: string, suffix: string): ChatMessage[] {
  return [
    { role: 'system', content: FIM_SYSTEM_PROMPT },
    {
      role: 'user',
      content: `${PREFIX_TAG}\n${prefix}\n</PREFIX>\n${SUFFIX_TAG}\n${suffix}\n</SUFFIX>\nText to insert at the cursor:`,
    },
  ];
}

/** Overlap needed before the prefix's tail or the suffix's head counts as repeated. */
const MIN_OVERLAP = 8;

/** The insertion text from a chat model's answer. */
export function cleanFimAnswer(answer: string, prefix: string, suffix: string): string {
  let text = answer;
  // A fenced block anywhere: its body is the answer.
  const fence = /```[\w.+-]*[^\S\n]*\n?([\s\S]*?)\n?```/.exec(text);
  if (fence) text = fence[1] ?? '';
  text = text.replace(/^<\/?(?:PREFIX|SUFFIX|CURSOR)>\n?/i, '');
  // The prefix repeated: keep what follows the longest repeated tail of it.
  const head = longestOverlap(prefix, text);
  if (head >= MIN_OVERLAP || (head > 0 && head === prefix.length)) text = text.slice(head);
  // The suffix repeated at the end: drop it.
  const tail = longestSuffixOverlap(text, suffix);
  if (tail >= MIN_OVERLAP || (tail > 0 && tail === suffix.length)) text = text.slice(0, text.length - tail);
  return text;
}

/** Length of the longest tail of `prefix` that `text` starts with. */
function longestOverlap(prefix: string, text: string): number {
  const max = Math.min(prefix.length, text.length);
  for (let n = max; n > 0; n--) if (text.startsWith(prefix.slice(prefix.length - n))) return n;
  return 0;
}

/** Length of the longest head of `suffix` that `text` ends with. */
function longestSuffixOverlap(text: string, suffix: string): number {
  const max = Math.min(suffix.length, text.length);
  for (let n = max; n > 0; n--) if (text.endsWith(suffix.slice(0, n))) return n;
  return 0;
}
