import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** One file of the built site, as Vercel's create call references it. */
export interface SiteFile {
  /** Path inside the deployment, with `/` separators (e.g. `assets/app.js`). */
  file: string;
  /** SHA-1 of the content, lowercase hex: the digest Vercel stores the file under. */
  sha: string;
  size: number;
  /** Where it is on disk (never sent to Vercel). */
  absolutePath: string;
}

export interface HashedSite {
  files: SiteFile[];
  /** Symbolic links and special files left out: they would point outside what was built. */
  skipped: string[];
}

/** What {@link hashSite} leaves out, with everything under it. */
export interface HashExclusions {
  /** Names left out at any depth (`node_modules`, `.git`). */
  names?: readonly string[];
  /** Paths relative to the root (`.next`, `.next/cache`). */
  paths?: readonly string[];
}

/**
 * Lists and hashes every regular file under `root`, in a stable order, but what `exclude`
 * names. Contents are read one file at a time and not kept: uploads read them again, and only
 * the ones Vercel lacks.
 */
export async function hashSite(root: string, exclude: HashExclusions = {}): Promise<HashedSite> {
  const names = new Set(exclude.names ?? []);
  const paths = new Set((exclude.paths ?? []).map((p) => p.replace(/^(\.\/)+|\/+$/g, '')));
  const files: SiteFile[] = [];
  const skipped: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const absolutePath = path.join(dir, entry.name);
      const relative = path.relative(root, absolutePath).split(path.sep).join('/');
      if (names.has(entry.name) || paths.has(relative)) continue;
      if (entry.isDirectory()) {
        await walk(absolutePath);
      } else if (entry.isFile()) {
        const content = await readFile(absolutePath);
        files.push({
          file: relative,
          sha: createHash('sha1').update(content).digest('hex'),
          size: content.byteLength,
          absolutePath,
        });
      } else {
        skipped.push(relative);
      }
    }
  };
  const stats = await lstat(root);
  if (!stats.isDirectory()) throw new Error(`${root} is not a directory`);
  await walk(root);
  return { files, skipped };
}

/** Runs `work` over `items` with at most `limit` running at once; the first failure wins. */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker);
  const results = await Promise.allSettled(workers);
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}
