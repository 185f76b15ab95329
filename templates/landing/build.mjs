// Builds the landing page: src/site.json → dist/index.html + dist/style.css. Node alone, no network.
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderPage } from './src/page.mjs';

const root = dirname(fileURLToPath(import.meta.url));
const contentFile = join(root, 'src', 'site.json');
const out = join(root, 'dist');

let spec;
try {
  spec = JSON.parse(await readFile(contentFile, 'utf8'));
} catch (error) {
  console.error(`build: cannot read src/site.json: ${error.message}`);
  process.exit(1);
}
if (!spec || typeof spec !== 'object' || typeof spec.product?.name !== 'string') {
  console.error('build: src/site.json must be a product spec with product.name');
  process.exit(1);
}

const page = renderPage(spec);
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await writeFile(join(out, 'index.html'), page);
await copyFile(join(root, 'src', 'style.css'), join(out, 'style.css'));
console.log(`build: wrote dist/index.html (${Buffer.byteLength(page)} bytes) and dist/style.css`);
