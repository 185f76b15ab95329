import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TemplateManifest } from '@mvp-pipeline/core';

/** The page the tiny template starts with. */
export const TINY_APP = `export function render() {\n  return '<h1>Template</h1>';\n}\n`;

/**
 * Writes a tiny template into `dir`: `src/app.mjs` exports `render()`, and `node build.mjs`
 * imports it and writes `site/index.html` (failing with an error line when the page has no
 * <h1>). `printenv` prints the environment commands get. Returns its manifest.
 */
export async function writeTinyTemplate(dir: string): Promise<TemplateManifest> {
  const manifest: TemplateManifest = {
    name: 'tiny',
    description: 'A one-page site rendered by src/app.mjs',
    outputDir: 'site',
    commands: {
      build: [process.execPath, 'build.mjs'],
      printenv: [process.execPath, 'printenv.mjs'],
    },
    notes: 'NOTES.md',
    sourceDir: 'src',
  };
  await mkdir(join(dir, 'src'), { recursive: true });
  await writeFile(join(dir, 'mvp.template.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(
    join(dir, 'NOTES.md'),
    '# Tiny template\n\n`src/app.mjs` exports `render()`, which returns the whole page as HTML. ' +
      'The build imports it and writes `site/index.html`.\n',
  );
  await writeFile(join(dir, 'src', 'app.mjs'), TINY_APP);
  await writeFile(
    join(dir, 'build.mjs'),
    [
      "import { mkdirSync, writeFileSync } from 'node:fs';",
      "const { render } = await import('./src/app.mjs');",
      'const html = render();',
      "if (typeof html !== 'string' || !html.includes('<h1>')) {",
      "  console.error('error: render() must return a page with an <h1>');",
      '  process.exit(1);',
      '}',
      "mkdirSync('site', { recursive: true });",
      "writeFileSync('site/index.html', html);",
      "console.log('built site/index.html');",
      '',
    ].join('\n'),
  );
  await writeFile(join(dir, 'printenv.mjs'), 'console.log(JSON.stringify(process.env));\n');
  return manifest;
}
