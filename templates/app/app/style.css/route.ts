// The landing template's stylesheet (landing/style.css), served for the home page and the app.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export const dynamic = 'force-static';

export async function GET() {
  const css = await readFile(path.join(process.cwd(), 'landing', 'style.css'), 'utf8');
  return new Response(css, { headers: { 'content-type': 'text/css; charset=utf-8' } });
}
