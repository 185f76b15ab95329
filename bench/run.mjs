#!/usr/bin/env node
// `pnpm bench`: runs every bench/*.bench.mjs (each exports `run()` returning rows of
// { name, value, unit, goal, pass }), prints one table and writes bench/results/latest.json.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';

const dir = new URL('.', import.meta.url);
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

const rows = [];
for (const file of files) {
  process.stderr.write(`bench: ${file}…\n`);
  try {
    const { run } = await import(new URL(file, dir));
    for (const row of await run()) rows.push({ bench: file.replace('.bench.mjs', ''), ...row });
  } catch (error) {
    rows.push({
      bench: file.replace('.bench.mjs', ''),
      name: 'error',
      value: String(error?.message ?? error),
      unit: '',
      goal: '',
      pass: false,
    });
  }
}

const format = (v) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : String(v));
const table = [
  ['bench', 'figure', 'value', 'unit', 'goal', 'ok'],
  ...rows.map((r) => [
    r.bench,
    r.name,
    format(r.value),
    r.unit ?? '',
    r.goal ?? '',
    r.pass === undefined ? '' : r.pass ? 'yes' : 'NO',
  ]),
];
const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
for (const [i, row] of table.entries()) {
  console.log(row.map((cell, j) => cell.padEnd(widths[j])).join('  '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
mkdirSync(new URL('results/', dir), { recursive: true });
writeFileSync(
  new URL('results/latest.json', dir),
  `${JSON.stringify({ at: new Date().toISOString(), node: process.version, rows }, null, 2)}\n`,
);
console.log('\nWritten to bench/results/latest.json');
process.exitCode = rows.every((r) => r.pass !== false) ? 0 : 1;
