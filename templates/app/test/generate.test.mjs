// The generator's own checks: bad models are refused with each problem named; good ones generate.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkModel, generate, MARK } from '../scripts/generate.mjs';

// Its own model: the workspace's app.model.json is the job's, and changes with every product.
const base = JSON.parse(await readFile(new URL('./sample.model.json', import.meta.url), 'utf8'));
const withEntity = (patch) => ({ ...base, entities: [{ ...base.entities[0], ...patch }] });

test('refuses reserved, non-identifier and duplicate names, unknown types and missing references', () => {
  assert.match(
    checkModel(withEntity({ name: 'user' })).join('\n'),
    /entities\[0\]\.name: "user" is reserved/,
  );
  assert.match(checkModel(withEntity({ name: 'select' })).join('\n'), /reserved/);
  assert.match(checkModel(withEntity({ name: '__proto__' })).join('\n'), /must match/);
  assert.match(checkModel(withEntity({ name: 'a b"' })).join('\n'), /must match/);
  const fields = base.entities[0].fields;
  assert.match(checkModel(withEntity({ fields: [...fields, fields[0]] })).join('\n'), /is a duplicate/);
  assert.match(checkModel(withEntity({ fields: [{ name: 'x', type: 'blob' }] })).join('\n'), /unknown type/);
  assert.match(
    checkModel(withEntity({ fields: [{ name: 'x', type: 'reference', entity: 'nope' }] })).join('\n'),
    /names no entity/,
  );
  assert.match(
    checkModel(withEntity({ fields: [{ name: 'x', type: 'enum', values: ["a'); DROP TABLE x;--"] }] })).join(
      '\n',
    ),
    /values/,
  );
  assert.deepEqual(checkModel(base), []);
});

test('regenerating keeps hand-written files and marks generated ones', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'app-gen-'));
  try {
    await writeFile(join(dir, 'app.model.json'), JSON.stringify(base));
    await cp(new URL('../migrations', import.meta.url), join(dir, 'migrations'), { recursive: true });
    const first = await generate(dir, () => {});
    const page = join(dir, 'app', 'messages', 'page.tsx');
    assert.ok((await readFile(page, 'utf8')).startsWith(`// ${MARK}`));
    await writeFile(page, '// mine\nexport default function P() { return null; }\n');
    const second = await generate(dir, () => {});
    assert.deepEqual(second.kept, ['app/messages/page.tsx']);
    assert.equal(await readFile(page, 'utf8'), '// mine\nexport default function P() { return null; }\n');
    assert.equal(first.files.length, second.files.length);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
