// Config files as people write them (issue 18): JSON with comments and trailing commas (JSONC, as VS
// Code's settings.json), YAML, and the README's own configuration block, loaded as written.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify as toYaml } from 'yaml';
import { ConfigError, loadConfigFile } from '../../server/config/loadConfig';
import { fuzzOptions } from '../helpers/fuzz';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backstop-configformats-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

/** The fenced block under "## Configuration" in README.md, with its info string. */
function readmeConfigBlock(): { lang: string; text: string } {
  const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
  const section = readme.split(/^## Configuration$/m)[1]?.split(/^## /m)[0] ?? '';
  const m = section.match(/^```(\w+)\n([\s\S]*?)^```$/m);
  assert.ok(m?.[1] && m[2], 'README.md has a fenced config block under "## Configuration"');
  return { lang: m[1], text: m[2] };
}

describe('JSONC config files', () => {
  it("the README's configuration block loads as written, with its comments", () => {
    const { lang, text } = readmeConfigBlock();
    assert.ok(text.includes('//'), 'the block has comments (what this test is about)');
    const c = loadConfigFile(write(`readme.${lang === 'yaml' ? 'yaml' : lang}`, text));
    assert.ok(c.chain.length > 0);
    assert.ok(c.providers.length > 0);
    // Every key the block states is what the daemon runs with.
    const stated = text.match(/"timeoutMs":\s*(\d+)/)?.[1];
    assert.equal(String(c.timeoutMs), stated);
    // The same block saved as .json loads too (people copy it into config.json).
    assert.deepEqual(loadConfigFile(write('readme.json', text)), c);
  });

  it('line and block comments and trailing commas are accepted in .json and .jsonc', () => {
    const text = `{
      // the chain, best first
      "chain": ["local/a", "local/b",], /* trailing comma above */
      "timeoutMs": 9000,
    }`;
    for (const ext of ['json', 'jsonc']) {
      const c = loadConfigFile(write(`comments.${ext}`, text));
      assert.deepEqual(c.chain, ['local/a', 'local/b']);
      assert.equal(c.timeoutMs, 9000);
    }
  });

  it('a syntax error names the file, the problem, the line and the column', () => {
    const f = write('broken.json', '{\n  "chain": ["local/a"]\n  "timeoutMs": 1\n}\n');
    assert.throws(
      () => loadConfigFile(f),
      (e: unknown) =>
        e instanceof ConfigError && e.message.includes(f) && /comma expected at line 3, column 3/.test(e.message),
    );
  });

  it('YAML with comments loads the same configuration as the JSONC', () => {
    const yaml = '# chain first\nchain:\n  - local/a # primary\n  - local/b\ntimeoutMs: 9000\n';
    const json = '{ "chain": ["local/a", "local/b"], /* x */ "timeoutMs": 9000, }';
    assert.deepEqual(loadConfigFile(write('same.yaml', yaml)), loadConfigFile(write('same.jsonc', json)));
  });

  it('fuzz: any JSON value with comments and trailing commas woven in parses to the same value as plain JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom('json', 'jsonc', 'yaml'), (v, ext) => {
        const plain = ext === 'yaml' ? toYaml(v) : JSON.stringify(v);
        const decorated =
          ext === 'yaml'
            ? `# comment\n${plain}`
            : `// comment\n${JSON.stringify(v, null, 1)
                .replace(/\n(\s*)([}\]])/g, ',\n$1$2')
                .replace(/([[{]),\n/g, '$1\n')}\n/* end */`;
        const results = [plain, decorated].map((t, i) => {
          try {
            return { ok: loadConfigFile(write(`fuzz${i}.${ext}`, t)) };
          } catch (e) {
            assert.ok(e instanceof ConfigError, String(e));
            return { err: e.message.replace(/fuzz\d/g, 'fuzz') };
          }
        });
        assert.deepEqual(results[1], results[0]);
      }),
      fuzzOptions(300),
    );
  });
});

describe('JSONC: what is refused', () => {
  it('a "__proto__" key is refused with the file named (it would set a prototype, not a key)', () => {
    const f = write('proto.jsonc', '{ "__proto__": { "chain": ["local/a"] } }');
    assert.throws(
      () => loadConfigFile(f),
      (e: unknown) => e instanceof ConfigError && /"__proto__"/.test(e.message),
    );
  });
});
