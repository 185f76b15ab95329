/**
 * A virtual file tree shared by the in-memory fakes, so that what the template source writes
 * is what the generator edits, the repo host commits and the deployer publishes — without a disk.
 * Paths are absolute, '/'-separated.
 */
export class MemoryFiles {
  private readonly files = new Map<string, string>();
  private readonly dirs = new Set<string>();

  mkdir(dir: string): void {
    this.dirs.add(trim(dir));
  }

  hasDir(dir: string): boolean {
    return this.dirs.has(trim(dir));
  }

  removeDir(dir: string): void {
    const prefix = `${trim(dir)}/`;
    this.dirs.delete(trim(dir));
    for (const path of [...this.files.keys()]) if (path.startsWith(prefix)) this.files.delete(path);
  }

  write(path: string, content: string): void {
    this.files.set(path, content);
  }

  read(path: string): string | undefined {
    return this.files.get(path);
  }

  remove(path: string): void {
    this.files.delete(path);
  }

  /** Paths under `dir`, relative to it, sorted. */
  list(dir: string): string[] {
    const prefix = `${trim(dir)}/`;
    return [...this.files.keys()]
      .filter((p) => p.startsWith(prefix))
      .map((p) => p.slice(prefix.length))
      .sort();
  }

  /** The files under `dir` as relative path → content. */
  snapshot(dir: string): Record<string, string> {
    const prefix = `${trim(dir)}/`;
    return Object.fromEntries(this.list(dir).map((p) => [p, this.files.get(prefix + p)!]));
  }

  /** Replaces everything under `dir` with `files`. */
  restore(dir: string, files: Record<string, string>): void {
    const root = trim(dir);
    for (const path of this.list(root)) this.files.delete(`${root}/${path}`);
    for (const [path, content] of Object.entries(files)) this.files.set(`${root}/${path}`, content);
  }
}

const trim = (dir: string) => dir.replace(/\/+$/, '');
