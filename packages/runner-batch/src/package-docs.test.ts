// Docs that hold: every library package's README lists its whole public API (what its `exports`
// map's entry points export, kept by scripts/api-index.mjs), every relative link of every
// README points at a file in the repository, and no tracked doc or source refers to a file on
// this machine outside it.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tracked = (...patterns: string[]) =>
  execFileSync('git', ['ls-files', '-z', ...patterns], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);

interface Readme {
  file: string;
  current: string;
  wanted: string;
}

describe('package docs', () => {
  it('lists the whole public API in each library package README', async () => {
    const { readmes } = (await import(join(root, 'scripts/api-index.mjs'))) as { readmes(): Readme[] };
    const stale = readmes()
      .filter(({ current, wanted }) => current !== wanted)
      .map(({ file }) => file.slice(root.length));
    expect(stale, 'README public API lists out of date: run `node scripts/api-index.mjs`').toEqual([]);
  });

  it('links only to files that are in the repository', () => {
    const broken: string[] = [];
    for (const file of tracked('*.md')) {
      const text = readFileSync(join(root, file), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/i.test(target!)) continue;
        if (!existsSync(join(root, dirname(file), target!))) broken.push(`${file} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('refers to no file outside the repository', () => {
    const outside = /file:\/\/\/work\/|["'`(\s]\/work\/[a-z]|\bdesign\.md\b/;
    const found = tracked('*.md', '*.ts', '*.mjs', '*.js', '*.json').filter(
      (file) =>
        !file.endsWith('package-docs.test.ts') && outside.test(readFileSync(join(root, file), 'utf8')),
    );
    expect(found).toEqual([]);
  });
});
