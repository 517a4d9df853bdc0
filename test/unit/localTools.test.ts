// The pure half of local tool calling: JSON Schema → llama.cpp's grammar subset, OpenAI-style
// messages → node-llama-cpp chat history, and the forced-call schema for tool_choice "required".
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ChatMessage, Tool } from '../../protocol/types';
import {
  ANY_JSON,
  forcedCallSchema,
  toChatHistory,
  toFunctions,
  toGbnfSchema,
} from '../../server/providers/localTools';

const weather: Tool = {
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: {
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'object',
    properties: {
      city: { type: 'string', description: 'City name', pattern: '^[A-Z]' },
      days: { type: 'integer', minimum: 1, maximum: 7, default: 3 },
      unit: { type: 'string', enum: ['c', 'f'] },
      when: { type: 'string', format: 'date' },
      tags: { type: 'array', items: { type: 'string' }, minItems: 1 },
      extra: { anyOf: [{ type: 'string' }, { type: 'null' }] },
    },
    required: ['city', 'nope'],
    additionalProperties: false,
  },
};

describe('toGbnfSchema', () => {
  it('keeps what the grammar can enforce and drops what it cannot', () => {
    assert.deepEqual(toGbnfSchema(weather.parameters), {
      type: 'object',
      properties: {
        city: { type: 'string', description: 'City name' },
        days: { type: 'integer' },
        unit: { enum: ['c', 'f'] },
        when: { type: 'string', format: 'date' },
        tags: { type: 'array', items: { type: 'string' }, minItems: 1 },
        extra: { oneOf: [{ type: 'string' }, { type: 'null' }] },
      },
      // a required name with no property is dropped: the grammar could never satisfy it
      required: ['city'],
      additionalProperties: false,
    });
  });

  it('type lists, local references and nested definitions', () => {
    assert.deepEqual(toGbnfSchema({ type: ['string', 'null'] }), { type: ['string', 'null'] });
    assert.deepEqual(toGbnfSchema({ $ref: '#/definitions/x', definitions: { x: { type: 'boolean' } } }), {
      $ref: '#/$defs/x',
      $defs: { x: { type: 'boolean' } },
    });
    assert.deepEqual(toGbnfSchema({ $ref: 'https://example.com/remote.json' }), ANY_JSON);
    assert.deepEqual(toGbnfSchema({ type: 'object' }), {
      type: 'object',
      properties: {},
      required: [],
      additionalProperties: true,
    });
  });

  it('never throws and always answers a schema object, whatever it is given', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        const s = toGbnfSchema(v);
        assert.equal(typeof s, 'object');
        assert.ok(s !== null);
        JSON.stringify(s);
      }),
      { numRuns: 2000 },
    );
    // Schema-shaped noise: real keywords with wrong-typed values.
    const keyword = fc.constantFrom(
      'type',
      'properties',
      'required',
      'items',
      'enum',
      'const',
      'oneOf',
      'anyOf',
      '$ref',
      'format',
    );
    fc.assert(
      fc.property(fc.dictionary(keyword, fc.jsonValue({ maxDepth: 4 })), (v) => {
        toGbnfSchema(v);
      }),
      { numRuns: 2000 },
    );
  });

  it('a self-nesting schema is cut off at a bounded depth', () => {
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 200; i++) deep = { type: 'array', items: deep };
    const s = JSON.stringify(toGbnfSchema(deep));
    assert.ok(s.length < 5000, `${s.length} chars`);
  });
});

describe('tools for the local model', () => {
  it('"none" offers no functions; a named choice offers only that one', () => {
    const other: Tool = { name: 'other', parameters: { type: 'object', properties: {} } };
    assert.equal(toFunctions([weather], 'none'), undefined);
    assert.deepEqual(Object.keys(toFunctions([weather, other], 'auto') ?? {}), ['get_weather', 'other']);
    assert.deepEqual(Object.keys(toFunctions([weather, other], { name: 'other' }) ?? {}), ['other']);
  });

  it('"required" and named choices force a call by grammar; auto and none do not', () => {
    assert.equal(forcedCallSchema([weather], 'auto'), undefined);
    assert.equal(forcedCallSchema([weather], 'none'), undefined);
    assert.equal(forcedCallSchema([weather], undefined), undefined);
    const one = forcedCallSchema([weather], { name: 'get_weather' }) as unknown as { properties: { name: unknown } };
    assert.deepEqual(one.properties.name, { const: 'get_weather' });
    const two = forcedCallSchema([weather, { name: 'b' }], 'required') as unknown as { oneOf: unknown[] };
    assert.equal(two.oneOf.length, 2);
    assert.equal(forcedCallSchema([weather], { name: 'missing' }), undefined);
  });
});

describe('toChatHistory', () => {
  it('pairs each tool result with the call it answers, and ends in the model response it continues', () => {
    const msgs: ChatMessage[] = [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'weather in Oslo and Rome?' },
      {
        role: 'assistant',
        content: '',
        toolCalls: [
          { id: 'a', name: 'get_weather', arguments: '{"city":"Oslo"}' },
          { id: 'b', name: 'get_weather', arguments: '{"city":"Rome"}' },
        ],
      },
      { role: 'tool', toolCallId: 'b', content: '{"temp":21}' },
      { role: 'tool', toolCallId: 'a', content: 'cold' },
    ];
    assert.deepEqual(toChatHistory(msgs), [
      { type: 'system', text: 'be brief' },
      { type: 'user', text: 'weather in Oslo and Rome?' },
      {
        type: 'model',
        response: [
          { type: 'functionCall', name: 'get_weather', params: { city: 'Oslo' }, result: 'cold' },
          { type: 'functionCall', name: 'get_weather', params: { city: 'Rome' }, result: { temp: 21 } },
        ],
      },
    ]);
  });

  it('a result with no matching call is kept as a user turn; a call with no result gets one', () => {
    const h = toChatHistory([
      { role: 'user', content: 'go' },
      { role: 'assistant', content: 'ok', toolCalls: [{ id: 'x', name: 't', arguments: 'not json' }] },
      { role: 'tool', toolCallId: 'zzz', content: 'stray' },
    ]);
    assert.deepEqual(h[1], {
      type: 'model',
      response: ['ok', { type: 'functionCall', name: 't', params: 'not json', result: '(no result)' }],
    });
    assert.deepEqual(h[2], { type: 'user', text: 'Result of tool call zzz:\nstray' });
  });
});
