import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { cleanFimAnswer, fimChatMessages } from '../../server/providers/fimChat';

test('a fenced answer is reduced to its body', () => {
  assert.equal(cleanFimAnswer('```ts\nreturn a + b;\n```', 'function add(a, b) {\n  ', '\n}'), 'return a + b;');
  assert.equal(cleanFimAnswer('Here you go:\n```\nx + 1\n```\nDone.', 'let y = ', ';'), 'x + 1');
});

test('the prefix and the suffix repeated around the insertion are removed', () => {
  const prefix = 'const total = items.reduce(';
  const suffix = ', 0);\nconsole.log(total);';
  assert.equal(
    cleanFimAnswer(`const total = items.reduce((a, b) => a + b${suffix}`, prefix, suffix),
    '(a, b) => a + b',
  );
});

test('short accidental overlaps are kept (an answer may legitimately start like the prefix ends)', () => {
  assert.equal(cleanFimAnswer(' = 1', 'let x', ';'), ' = 1');
  assert.equal(cleanFimAnswer('a;', 'x = ', ';\n'), 'a;');
  assert.equal(cleanFimAnswer('a;', 'x = ', ';'), 'a', 'the whole (short) suffix repeated is dropped');
});

test('the chat prompt carries prefix and suffix verbatim', () => {
  const [sys, user] = fimChatMessages('A<B', 'C>D');
  assert.equal(sys?.role, 'system');
  assert.ok(typeof user?.content === 'string' && user.content.includes('A<B') && user.content.includes('C>D'));
});

test('cleaning never throws and never returns more than the answer', () => {
  fc.assert(
    fc.property(fc.string(), fc.string(), fc.string(), (answer, prefix, suffix) => {
      const out = cleanFimAnswer(answer, prefix, suffix);
      assert.ok(out.length <= answer.length);
    }),
    { numRuns: 2000 },
  );
});
