#!/usr/bin/env node
// `pnpm bench [name…]`: runs every bench/*.bench.mjs (or those whose file name contains one of
// the names). Each exports `run()` returning rows of { name, value, unit, goal, pass }: `goal`
// is text shown beside the value, `pass` true/false when the figure has a goal to meet and
// undefined when it is there for the record. Prints one table of every figure with its goal and
// writes bench/results/latest.json. What each figure means: bench/report.md.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';

const dir = new URL('.', import.meta.url);
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

const rows = [];
const timings = {};
for (const file of files) {
  const bench = file.replace('.bench.mjs', '');
  process.stderr.write(`bench: ${file}…\n`);
  const started = performance.now();
  try {
    const { run } = await import(new URL(file, dir));
    for (const row of await run()) rows.push({ bench, ...row });
  } catch (error) {
    rows.push({
      bench,
      name: 'error',
      value: String(error?.message ?? error).split('\n')[0],
      unit: '',
      goal: 'runs',
      pass: false,
    });
  }
  timings[bench] = Math.round((performance.now() - started) / 1000);
  process.stderr.write(`bench: ${file} took ${timings[bench]} s\n`);
}

const format = (v) =>
  typeof v === 'number'
    ? Number.isInteger(v)
      ? String(v)
      : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 3)
    : String(v);
const verdict = (r) => (r.pass === undefined ? '' : r.pass ? 'yes' : 'NO');
const clip = (text, max) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const table = [
  ['bench', 'figure', 'value', 'goal', 'met'],
  ...rows.map((r) => [
    r.bench,
    clip(r.name, 72),
    clip(`${format(r.value)}${r.unit ? ` ${r.unit}` : ''}`, 40),
    clip(r.goal || '—', 60),
    verdict(r),
  ]),
];
const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
for (const [i, row] of table.entries()) {
  console.log(row.map((cell, j) => cell.padEnd(widths[j])).join('  '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
const judged = rows.filter((r) => r.pass !== undefined);
const missed = judged.filter((r) => r.pass === false);
const summary = {
  figures: rows.length,
  withGoal: judged.length,
  met: judged.length - missed.length,
  missed: missed.map((r) => `${r.bench}: ${r.name}`),
};
console.log(`\n${summary.met} of ${summary.withGoal} goals met (${summary.figures} figures).`);
for (const miss of summary.missed) console.log(`  missed: ${miss}`);

mkdirSync(new URL('results/', dir), { recursive: true });
writeFileSync(
  new URL('results/latest.json', dir),
  `${JSON.stringify({ at: new Date().toISOString(), node: process.version, summary, seconds: timings, rows }, null, 2)}\n`,
);
console.log('Written to bench/results/latest.json (what the figures mean: bench/report.md)');
process.exitCode = missed.length === 0 ? 0 : 1;
