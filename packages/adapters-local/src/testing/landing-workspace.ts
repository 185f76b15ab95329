// Helpers for this folder's tests (not exported from the package).
import { cp, mkdtemp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  parseTemplateManifest,
  TEMPLATE_MANIFEST_FILE,
  type TemplateManifest,
  type Workspace,
} from '@mvp-pipeline/core';

/** The landing template in this repository. */
export const LANDING_TEMPLATE = fileURLToPath(new URL('../../../../templates/landing', import.meta.url));

/** A fresh workspace under `root` holding a copy of the landing template, and its manifest. */
export async function landingWorkspace(
  root: string,
  jobId = 'job_t1',
): Promise<{ workspace: Workspace; manifest: TemplateManifest }> {
  const dir = await mkdtemp(path.join(root, 'ws-'));
  await cp(LANDING_TEMPLATE, dir, {
    recursive: true,
    filter: (source) => !/[\\/](dist|node_modules)$/.test(source),
  });
  const manifest = parseTemplateManifest(
    JSON.parse(await readFile(path.join(dir, TEMPLATE_MANIFEST_FILE), 'utf8')),
    'landing',
  );
  return { workspace: { jobId, dir }, manifest };
}
