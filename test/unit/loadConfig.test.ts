// Config files (issue 15, finding 6 and the fuzz requirement): a null or non-object file is an error
// naming the file; folder settings are checked (a filesystem root never, a missing folder when
// applied at run time); random JSON/YAML gives a Config or a ConfigError naming the file — never a
// throw of another kind.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify as toYaml } from 'yaml';
import { defaultConfig } from '../../protocol/config';
import { ConfigError, folderIssues, folderProblem, loadConfigFile } from '../../server/config/loadConfig';
import { fuzzOptions } from '../helpers/fuzz';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backstop-loadconfig-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

function refused(file: string, re?: RegExp): void {
  assert.throws(
    () => loadConfigFile(file),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.ok(e.message.includes(file), e.message);
      if (re) assert.match(e.message, re);
      return true;
    },
  );
}

describe('loadConfigFile: what is not an object of config keys', () => {
  for (const [name, text, file] of [
    ['null', 'null', 'null.json'],
    ['YAML null', 'null', 'null.yaml'],
    ['YAML ~', '~\n', 'tilde.yml'],
    ['an array', '[]', 'array.json'],
    ['a YAML list', '- a\n- b\n', 'list.yaml'],
    ['a number', '42', 'number.json'],
    ['a string', '"backstop"', 'string.json'],
    ['a YAML scalar', 'just words\n', 'scalar.yaml'],
    ['false', 'false', 'false.json'],
  ] as const) {
    it(`${name}: a ConfigError naming the file and what it got`, () => {
      refused(write(file, text), /expected an object of config keys, got (null|an array|a number|a string|a boolean)/);
    });
  }

  it('an empty file, JSON or YAML (or only comments), is an error naming the file', () => {
    refused(write('empty.json', ''), /not valid JSON/);
    refused(write('empty.yaml', ''), /the file is empty/);
    refused(write('comments.yaml', '# nothing\n# here\n'), /the file is empty/);
  });

  it('an empty object gives the defaults', () => {
    assert.deepEqual(loadConfigFile(write('empty-object.json', '{}')), defaultConfig());
    assert.deepEqual(loadConfigFile(write('empty-map.yaml', '{}\n')), defaultConfig());
  });

  it('server.allowedHosts defaults to [] and takes host names', () => {
    assert.deepEqual(defaultConfig().server.allowedHosts, []);
    const c = loadConfigFile(write('hosts.json', JSON.stringify({ server: { allowedHosts: ['proxy.local:8443'] } })));
    assert.deepEqual(c.server.allowedHosts, ['proxy.local:8443']);
    refused(write('hosts-bad.json', JSON.stringify({ server: { allowedHosts: [''] } })), /server\.allowedHosts\.0/);
  });

  it('a filesystem root as a models folder is refused with the key; a folder still to be created is not', () => {
    const cfg = (dirs: string[]) => JSON.stringify({ providers: [{ id: 'local', type: 'local', modelsDirs: dirs }] });
    refused(write('root.json', cfg(['/'])), /providers\.0\.modelsDirs\.0: "\/" is a filesystem root/);
    refused(write('root2.json', cfg([dir, '/..'])), /providers\.0\.modelsDirs\.1: "\/\.\." is a filesystem root/);
    assert.ok(loadConfigFile(write('later.json', cfg([path.join(dir, 'created-later')]))));
  });
});

describe('folder checks', () => {
  it('a root, a symlink to the root, a file, a missing folder, an empty path, a NUL', () => {
    const file = path.join(dir, 'plain-file');
    fs.writeFileSync(file, '');
    const link = path.join(dir, 'to-root');
    fs.symlinkSync('/', link);
    assert.match(folderProblem('/', true) ?? '', /is a filesystem root/);
    assert.match(folderProblem('//', false) ?? '', /is a filesystem root/);
    assert.match(folderProblem(link, true) ?? '', /leads to a filesystem root/);
    assert.match(folderProblem(file, true) ?? '', /is not a directory/);
    assert.match(folderProblem(path.join(dir, 'missing'), true) ?? '', /does not exist/);
    assert.equal(folderProblem(path.join(dir, 'missing'), false), undefined);
    assert.match(folderProblem('', true) ?? '', /empty folder path/);
    assert.match(folderProblem('a\u0000b', true) ?? '', /NUL/);
    assert.equal(folderProblem(dir, true), undefined);
    assert.equal(folderProblem('~', true), undefined, '~ is the home folder');
  });

  it('folders already running are not checked again', () => {
    const gone = path.join(dir, 'gone');
    const config = defaultConfig();
    config.providers = [{ id: 'local', type: 'local', modelsDirs: [gone] }];
    assert.equal(folderIssues(config, { mustExist: true }).length, 1);
    assert.deepEqual(folderIssues(config, { mustExist: true, unchanged: config }), []);
  });
});

describe('fuzz: random config files', () => {
  const text = fc.string({ maxLength: 30 });
  const folder = fc.oneof(fc.constantFrom('/', '~', '', '.', '..', '/..', 'a\u0000b', dir), text);
  const provider = fc.record(
    {
      id: fc.oneof(fc.constantFrom('local', 'cloud', 'a/b', ''), text),
      type: fc.oneof(fc.constantFrom('local', 'openai-compatible', 'ollama', 'anthropic', 'gemini'), text),
      modelsDirs: fc.oneof(fc.array(folder, { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })),
      baseUrl: fc.oneof(fc.constant('http://127.0.0.1:1/v1'), text),
      models: fc.array(text, { maxLength: 2 }),
      apiKeyEnv: text,
      maxConcurrency: fc.oneof(fc.integer(), fc.double()),
    },
    { requiredKeys: [] },
  );
  const configLike = fc.record(
    {
      providers: fc.oneof(fc.array(provider, { maxLength: 3 }), fc.jsonValue({ maxDepth: 2 })),
      chain: fc.oneof(
        fc.array(fc.oneof(fc.constantFrom('local/m', 'local/../x', 'local/\u0000x', 'wall/'), text), { maxLength: 3 }),
        fc.jsonValue({ maxDepth: 1 }),
      ),
      strategy: fc.oneof(fc.constantFrom('sequential', 'fastest'), text),
      timeoutMs: fc.oneof(fc.integer(), fc.double(), fc.jsonValue({ maxDepth: 1 })),
      server: fc.oneof(
        fc.record(
          {
            allowedHosts: fc.oneof(fc.array(text, { maxLength: 2 }), fc.jsonValue({ maxDepth: 1 })),
            allowedOrigins: fc.array(text, { maxLength: 2 }),
            maxMessageBytes: fc.integer(),
          },
          { requiredKeys: [] },
        ),
        fc.jsonValue({ maxDepth: 1 }),
      ),
      circuit: fc.dictionary(text, fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
      unknown: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: [] },
  );
  // Mostly valid: the folder checks and model ids are reached.
  const validish = fc.record({
    providers: fc.array(
      fc.record({
        id: fc.constantFrom('local', 'models'),
        type: fc.constant('local'),
        modelsDirs: fc.array(folder, { maxLength: 3 }),
      }),
      { maxLength: 2 },
    ),
    chain: fc.array(fc.constantFrom('local/m', 'local/../x', 'local/\u0000x', 'wall/', 'models/a/b'), { maxLength: 3 }),
  });
  const yamlOddities = fc.constantFrom(
    '---\na: 1\n---\nb: 2\n',
    'a: &x [1, *x]\n',
    'chain: !!binary aGVsbG8=\n',
    'timeoutMs: !!int nope\n',
    '{a: 1, a: 2}\n',
    '? [a, b]\n: c\n',
    '<<: *missing\n',
    'providers:\n  - id: local\n    type: local\n    modelsDirs: [/]\n',
    '\t- tab\n',
    `${'['.repeat(200)}${']'.repeat(200)}`,
    'x: "unterminated\n',
    '%YAML 1.1\n---\nchain: []\n',
    'chain: !custom tag\n',
  );
  const file = fc.oneof(
    fc
      .tuple(fc.oneof(configLike, validish, fc.jsonValue()), fc.constantFrom('json', 'yaml', 'yml'))
      .map(([v, ext]) => ({
        ext,
        text: ext === 'json' ? JSON.stringify(v) : toYaml(v),
      })),
    fc
      .tuple(
        fc.oneof(text, fc.string({ unit: 'binary', maxLength: 60 }), yamlOddities),
        fc.constantFrom('json', 'yaml', 'YML'),
      )
      .map(([t, ext]) => ({ ext, text: t })),
  );

  it('loadConfigFile gives a Config or a ConfigError naming the file, never another throw', () => {
    const t0 = Date.now();
    let n = 0;
    let accepted = 0;
    fc.assert(
      fc.property(file, ({ ext, text: content }) => {
        n++;
        const f = write(`fuzz.${ext}`, content);
        try {
          const c = loadConfigFile(f);
          accepted++;
          assert.ok(Array.isArray(c.providers) && Array.isArray(c.chain) && Array.isArray(c.server.allowedHosts));
        } catch (e) {
          assert.ok(e instanceof ConfigError, `${String(e)} for ${JSON.stringify(content)}`);
          assert.ok(e.message.includes(f), e.message);
        }
      }),
      fuzzOptions(),
    );
    console.log(`# fuzz config files: ${n} cases (${accepted} accepted) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
});
