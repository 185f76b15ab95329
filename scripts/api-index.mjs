#!/usr/bin/env node
// The public API of each library package, listed in its README between the markers
// `<!-- api-index:start -->` and `<!-- api-index:end -->`: every name each entry point of the
// package's `exports` map exports, by the module it comes from.
//   node scripts/api-index.mjs          rewrites the lists
//   node scripts/api-index.mjs --check  exits 1 when a README's list is not current
// packages/runner-batch/src/package-docs.test.ts runs the check.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { LIBRARY_PACKAGES } from './pack.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
export const START = '<!-- api-index:start -->';
export const END = '<!-- api-index:end -->';

const parsed = new Map();
function parse(file) {
  if (!parsed.has(file)) {
    parsed.set(file, ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest));
  }
  return parsed.get(file);
}

const isBare = (specifier) => !specifier.startsWith('.') && !specifier.startsWith('/');

function moduleFile(from, specifier) {
  if (isBare(specifier)) return specifier;
  const base = resolve(dirname(from), specifier.replace(/\.js$/, ''));
  for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) if (existsSync(candidate)) return candidate;
  throw new Error(`${relative(root, from)}: cannot find ${specifier}`);
}

const isExported = (node) => ts.getCombinedModifierFlags(node) & ts.ModifierFlags.Export;

/** Where `name` exported by `file` is declared, and whether it is a type only. */
function declaration(file, name) {
  for (const statement of parse(file).statements) {
    if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) {
      if (statement.name.text === name && isExported(statement)) return { file, type: true };
    } else if (ts.isVariableStatement(statement)) {
      if (isExported(statement) && statement.declarationList.declarations.some((d) => d.name.text === name)) {
        return { file, type: false };
      }
    } else if (
      (ts.isFunctionDeclaration(statement) ||
        ts.isClassDeclaration(statement) ||
        ts.isEnumDeclaration(statement)) &&
      statement.name?.text === name &&
      isExported(statement)
    ) {
      return { file, type: false };
    }
  }
  for (const statement of parse(file).statements) {
    if (!ts.isExportDeclaration(statement)) continue;
    const target = statement.moduleSpecifier ? moduleFile(file, statement.moduleSpecifier.text) : file;
    if (!statement.exportClause) {
      try {
        const found = declaration(target, name);
        if (found) return found;
      } catch {}
      continue;
    }
    if (!ts.isNamedExports(statement.exportClause)) continue;
    for (const element of statement.exportClause.elements) {
      if (element.name.text !== name) continue;
      const local = (element.propertyName ?? element.name).text;
      // Re-exported from another package: named by it (verbatimModuleSyntax marks its types).
      const found = statement.moduleSpecifier && !isBare(target) ? declaration(target, local) : undefined;
      return {
        file: found?.file ?? target,
        type: statement.isTypeOnly || element.isTypeOnly || (found?.type ?? false),
      };
    }
  }
  return undefined;
}

/** Every name `file` exports, with where it is declared. */
function exportsOf(file) {
  const names = new Map();
  for (const statement of parse(file).statements) {
    if (ts.isExportDeclaration(statement)) {
      if (statement.exportClause && ts.isNamedExports(statement.exportClause)) {
        for (const element of statement.exportClause.elements) names.set(element.name.text, undefined);
      } else if (!statement.exportClause && statement.moduleSpecifier) {
        for (const name of exportsOf(moduleFile(file, statement.moduleSpecifier.text)).keys()) {
          names.set(name, undefined);
        }
      }
    } else if (isExported(statement)) {
      if (ts.isVariableStatement(statement)) {
        for (const d of statement.declarationList.declarations) names.set(d.name.text, undefined);
      } else if (statement.name) names.set(statement.name.text, undefined);
    }
  }
  for (const name of names.keys()) {
    const found = declaration(file, name);
    if (!found) throw new Error(`${relative(root, file)}: cannot find where ${name} is declared`);
    names.set(name, found);
  }
  return names;
}

/** The markdown list of one package's public API. */
export function apiIndex(dir) {
  const packageDir = join(root, 'packages', dir);
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
  const lines = [
    START,
    '',
    'Generated from the sources by `node scripts/api-index.mjs`; a test fails when it is out of date.',
    "Only these entry points are importable (the package's `exports` map); a deep import is not API.",
  ];
  for (const [entry, conditions] of Object.entries(manifest.exports)) {
    const specifier = entry === '.' ? manifest.name : `${manifest.name}/${entry.slice(2)}`;
    const source = join(packageDir, conditions.source);
    const byModule = new Map();
    for (const [name, { file, type }] of exportsOf(source)) {
      const module = isBare(file) ? file : relative(packageDir, file);
      const group = byModule.get(module) ?? { values: [], types: [] };
      byModule.set(module, group);
      (type ? group.types : group.values).push(name);
    }
    lines.push('', `#### \`${specifier}\``, '', '| module | values | types |', '|---|---|---|');
    for (const [module, { values, types }] of [...byModule].sort(([a], [b]) => a.localeCompare(b))) {
      const list = (names) =>
        names
          .sort()
          .map((name) => `\`${name}\``)
          .join(', ');
      lines.push(`| \`${module}\` | ${list(values)} | ${list(types)} |`);
    }
  }
  lines.push('', END);
  return lines.join('\n');
}

/** Each README with its list made current: `{ file, current, wanted }`. */
export function readmes() {
  return LIBRARY_PACKAGES.map((dir) => {
    const file = join(root, 'packages', dir, 'README.md');
    const current = readFileSync(file, 'utf8');
    const index = apiIndex(dir);
    const start = current.indexOf(START);
    const end = current.indexOf(END);
    const wanted =
      start >= 0 && end > start
        ? current.slice(0, start) + index + current.slice(end + END.length)
        : `${current.trimEnd()}\n\n## Public API\n\n${index}\n`;
    return { file, current, wanted };
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const { file, current, wanted } of readmes()) {
    if (current === wanted) continue;
    stale++;
    if (check) console.error(`${relative(root, file)}: the public API list is out of date`);
    else writeFileSync(file, wanted);
  }
  if (check && stale > 0) {
    console.error('run `node scripts/api-index.mjs` to update it');
    process.exit(1);
  }
}
