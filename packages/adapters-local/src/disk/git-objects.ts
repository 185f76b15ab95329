import fs from 'node:fs';
import git from 'isomorphic-git';

/**
 * Why we move objects ourselves: isomorphic-git has no `file://` transport, so it can neither
 * push to nor clone from a bare repository on the same disk. Both sides are plain git
 * directories that isomorphic-git reads and writes, so copying the missing objects and then
 * moving the ref is a push (or a fetch) without a protocol, a server or a `git` binary.
 */

interface Parsed {
  type: string;
  content: Uint8Array;
  /** Content as stored (compressed): blobs are copied as they are, with nothing to parse. */
  format: 'content' | 'deflated';
  children: Child[];
}

interface Child {
  oid: string;
  /** Known from the tree entry's mode: blobs need no parsing, only copying. */
  blob: boolean;
}

const decoder = new TextDecoder();

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

/** The objects a raw object points at: a commit's tree and parents, a tree's entries, a tag's object. */
function childrenOf(type: string, content: Uint8Array): Child[] {
  if (type === 'commit' || type === 'tag') {
    const header = decoder.decode(content).split('\n\n', 1)[0] ?? '';
    const out: Child[] = [];
    for (const line of header.split('\n')) {
      const [key, value] = [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)];
      if (key === 'tree' || key === 'parent' || key === 'object') out.push({ oid: value, blob: false });
    }
    return out;
  }
  if (type === 'tree') {
    const out: Child[] = [];
    let i = 0;
    while (i < content.length) {
      const space = content.indexOf(0x20, i);
      const nul = content.indexOf(0, space);
      const mode = decoder.decode(content.subarray(i, space));
      // 160000 is a submodule: the commit lives in another repository. 40000 is a tree.
      if (mode !== '160000')
        out.push({ oid: hex(content.subarray(nul + 1, nul + 21)), blob: mode !== '40000' });
      i = nul + 21;
    }
    return out;
  }
  return [];
}

async function has(gitdir: string, oid: string, cache: object): Promise<boolean> {
  try {
    await git.readObject({ fs, gitdir, oid, format: 'deflated', cache });
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === 'NotFoundError') return false;
    throw error;
  }
}

/**
 * Copies into `to` every object reachable from `oid` in `from` that `to` lacks, children before
 * parents (a tree before its commit, a parent commit before its child), so that an interrupted
 * copy never leaves an object whose dependencies are missing, and an object already in `to`
 * means its whole closure is there. Returns how many objects were written.
 */
export async function copyObjects(options: {
  from: string;
  to: string;
  oid: string;
  signal?: AbortSignal | undefined;
}): Promise<number> {
  const { from, to, signal } = options;
  const fromCache = {};
  const toCache = {};
  const done = new Set<string>();
  const stack: { oid: string; blob: boolean; parsed?: Parsed }[] = [{ oid: options.oid, blob: false }];
  let written = 0;
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (!top.parsed) {
      if (done.has(top.oid) || (await has(to, top.oid, toCache))) {
        done.add(top.oid);
        stack.pop();
        continue;
      }
      signal?.throwIfAborted();
      const format = top.blob ? 'deflated' : 'content';
      const read = await git.readObject({ fs, gitdir: from, oid: top.oid, format, cache: fromCache });
      const content = read.object as Uint8Array;
      // A packed object comes back inflated whatever was asked: copy it as content then.
      const stored = read.format === 'deflated' ? 'deflated' : 'content';
      const type = top.blob ? 'blob' : read.type;
      const children = stored === 'deflated' ? [] : childrenOf(type, content);
      top.parsed = { type, content, format: stored, children };
      for (const child of children)
        if (!done.has(child.oid)) stack.push({ oid: child.oid, blob: child.blob });
      continue;
    }
    stack.pop();
    if (done.has(top.oid)) continue;
    const oid = await git.writeObject({
      fs,
      gitdir: to,
      type: top.parsed.type as 'blob' | 'tree' | 'commit' | 'tag',
      object: top.parsed.content,
      format: top.parsed.format,
      ...(top.parsed.format === 'deflated' ? { oid: top.oid } : {}),
    });
    if (oid !== top.oid) throw new Error(`Object ${top.oid} was copied as ${oid}`);
    done.add(oid);
    written++;
  }
  return written;
}
