import { readFile, rm, stat } from 'node:fs/promises';
import { relative as relativeTo, sep } from 'node:path';
import type { Tool } from '@anthropic-ai/sdk/resources/messages/messages';
import { PipelineError, protectingRule, type Redactor, type TemplateManifest } from '@mvp-pipeline/core';
import { isGitPath, listFiles, resolveInside, runCommand, writeFileInside } from '@mvp-pipeline/workspace';
import { z } from 'zod';

/** What a tool call gave back, ready for a `tool_result` block. */
export interface ToolOutcome {
  content: string;
  isError: boolean;
  /** The call changed a file's content (or removed it). */
  changed: boolean;
  /** A command that ran: its name, whether it failed, and its output (for the breaker). */
  command?: { name: string; failed: boolean; output: string };
  /** A few words for the progress log, e.g. `editing src/app.js`. */
  activity: string;
}

export interface ToolboxOptions {
  /** The workspace root (absolute). */
  dir: string;
  manifest: TemplateManifest;
  commandTimeoutMs: number;
  /** Most bytes of a command's output kept (the tail). */
  outputCap: number;
  /** Most characters of a file returned by read_file. */
  maxReadChars: number;
  redact: Redactor;
}

const MAX_LISTED = 2_000;

const pathField = z.string().min(1, 'path must not be empty');
const inputs = {
  list_files: z.object({ path: z.string().optional() }).strict(),
  read_file: z.object({ path: pathField }).strict(),
  write_file: z.object({ path: pathField, content: z.string() }).strict(),
  edit_file: z
    .object({
      path: pathField,
      old_text: z.string().min(1, 'old_text must not be empty'),
      new_text: z.string(),
    })
    .strict(),
  delete_file: z.object({ path: pathField }).strict(),
  run_command: z.object({ name: z.string().min(1) }).strict(),
} as const;

export type ToolName = keyof typeof inputs;

/** The tool definitions sent to the model. `run_command` names only the template's declared commands. */
export function toolDefinitions(manifest: TemplateManifest): Tool[] {
  const commands = Object.keys(manifest.commands).sort();
  const path = (what: string) => ({
    type: 'string' as const,
    description: `${what}, relative to the repository root (no leading slash, no ..)`,
  });
  return [
    {
      name: 'list_files',
      description:
        'List every file under a directory of the repository (recursively, .git and node_modules skipped), one path per line.',
      input_schema: {
        type: 'object',
        properties: { path: path('Directory to list; omit for the whole repository') },
      },
    },
    {
      name: 'read_file',
      description: 'Read a text file of the repository.',
      input_schema: { type: 'object', properties: { path: path('File to read') }, required: ['path'] },
    },
    {
      name: 'write_file',
      description:
        'Create or overwrite a file with the full content given. Parent directories are created. Use it for new files and for rewriting a file whole.',
      input_schema: {
        type: 'object',
        properties: {
          path: path('File to write'),
          content: { type: 'string', description: 'The whole new content' },
        },
        required: ['path', 'content'],
      },
    },
    {
      name: 'edit_file',
      description:
        'Replace one exact piece of text in a file. old_text must occur exactly once in the file (include enough surrounding lines to make it unique); it is replaced by new_text.',
      input_schema: {
        type: 'object',
        properties: {
          path: path('File to edit'),
          old_text: { type: 'string', description: 'The exact text to replace, occurring once' },
          new_text: { type: 'string', description: 'The text to put in its place' },
        },
        required: ['path', 'old_text', 'new_text'],
      },
    },
    {
      name: 'delete_file',
      description: 'Delete a file of the repository.',
      input_schema: { type: 'object', properties: { path: path('File to delete') }, required: ['path'] },
    },
    {
      name: 'run_command',
      description: `Run one of the template's declared commands in the repository root and get its exit code and output (the tail, when long). No shell and no other commands are available. Declared: ${commands.join(', ')}.`,
      input_schema: {
        type: 'object',
        properties: { name: { type: 'string', enum: commands, description: 'The command to run' } },
        required: ['name'],
      },
    },
  ];
}

/** Tool calls confined to one workspace. Every failure comes back as an error outcome, never thrown. */
export interface Toolbox {
  run(name: string, input: unknown, signal?: AbortSignal): Promise<ToolOutcome>;
  /** Paths whose content now differs from what it was before the session first touched them. */
  changedFiles(): Promise<string[]>;
  /** Writes a file on the session's own account (the spec documents), tracked like the model's writes. */
  writeTracked(path: string, content: string): Promise<boolean>;
}

export function createToolbox(options: ToolboxOptions): Toolbox {
  const { dir, manifest, redact } = options;
  // The content each touched path had before the session changed it (null: it did not exist).
  const originals = new Map<string, string | null>();

  const current = async (absolute: string): Promise<string | null> => {
    try {
      return await readFile(absolute, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  };

  const guarded = manifest.protectedFiles ?? [];

  // Refused up front: the core also fails the step when a protected file changed, but a refusal
  // tells the model at once instead of failing the whole session at the end.
  const changeable = async (path: string): Promise<{ absolute: string; relative: string }> => {
    const target = await confined(path);
    const rule = protectingRule(guarded, target.relative);
    if (rule !== undefined) {
      throw new ToolRefusal(
        `${target.relative} is protected by the "${manifest.name}" template (protectedFiles: ${rule}); it must not be changed or deleted. Change other files instead.`,
      );
    }
    return target;
  };

  const confined = async (path: string): Promise<{ absolute: string; relative: string }> => {
    const absolute = await resolveInside(dir, path);
    const relative = relativePath(dir, absolute);
    if (relative === '' || isGitPath(path) || isGitPath(relative)) {
      throw new ToolRefusal(
        `${path}: ${relative ? 'the .git directory is off limits' : 'names the repository root, not a file'}`,
      );
    }
    return { absolute, relative };
  };

  const remember = async (relative: string, absolute: string) => {
    if (!originals.has(relative)) originals.set(relative, await current(absolute));
  };

  const write = async (relative: string, absolute: string, content: string): Promise<boolean> => {
    const before = await current(absolute);
    await remember(relative, absolute);
    if (before === content) return false;
    // Opened directory by directory without following a symlink: a swapped directory cannot redirect it.
    await writeFileInside(dir, relative, content);
    return true;
  };

  const handlers: {
    [K in ToolName]: (input: z.infer<(typeof inputs)[K]>, signal?: AbortSignal) => Promise<ToolOutcome>;
  } = {
    async list_files({ path }) {
      const absolute = path && path !== '.' ? await resolveInside(dir, path) : dir;
      const base = { absolute, relative: relativePath(dir, absolute) };
      if (isGitPath(base.relative)) {
        return refused(`${path}: the .git directory is off limits`, 'listing files');
      }
      const info = await stat(base.absolute).catch(() => undefined);
      if (!info?.isDirectory()) return refused(`${path}: no such directory`, 'listing files');
      const files = await listFiles(base.absolute);
      const prefix = base.relative ? `${base.relative}/` : '';
      const shown = files.slice(0, MAX_LISTED).map((f) => prefix + f);
      const more = files.length > MAX_LISTED ? `\n… and ${files.length - MAX_LISTED} more` : '';
      return ok(shown.length ? shown.join('\n') + more : '(no files)', `listing ${base.relative || 'files'}`);
    },
    async read_file({ path }) {
      const { absolute, relative } = await confined(path);
      const text = await current(absolute).catch((error) => {
        if ((error as NodeJS.ErrnoException).code === 'EISDIR') return null;
        throw error;
      });
      if (text === null) return refused(`${path}: no such file`, `reading ${relative}`);
      const clipped =
        text.length > options.maxReadChars
          ? `${text.slice(0, options.maxReadChars)}\n… [truncated: the file has ${text.length} characters; only the first ${options.maxReadChars} are shown]`
          : text;
      return ok(clipped, `reading ${relative}`);
    },
    async write_file({ path, content }) {
      const { absolute, relative } = await changeable(path);
      const changed = await write(relative, absolute, content);
      return {
        ...ok(
          changed
            ? `Wrote ${relative} (${content.length} characters)`
            : `${relative} already had this content`,
          `writing ${relative}`,
        ),
        changed,
      };
    },
    async edit_file({ path, old_text, new_text }) {
      const { absolute, relative } = await changeable(path);
      const text = await current(absolute);
      if (text === null) return refused(`${path}: no such file`, `editing ${relative}`);
      const first = text.indexOf(old_text);
      if (first < 0) return refused(`${relative}: old_text was not found in the file`, `editing ${relative}`);
      if (text.indexOf(old_text, first + 1) >= 0) {
        return refused(
          `${relative}: old_text occurs more than once; include more surrounding text to make it unique`,
          `editing ${relative}`,
        );
      }
      const next = text.slice(0, first) + new_text + text.slice(first + old_text.length);
      const changed = await write(relative, absolute, next);
      return { ...ok(`Edited ${relative}`, `editing ${relative}`), changed };
    },
    async delete_file({ path }) {
      const { absolute, relative } = await changeable(path);
      const info = await stat(absolute).catch(() => undefined);
      if (!info) return refused(`${path}: no such file`, `deleting ${relative}`);
      if (!info.isFile())
        return refused(`${path}: not a file (only files can be deleted)`, `deleting ${relative}`);
      await remember(relative, absolute);
      await rm(absolute);
      return { ...ok(`Deleted ${relative}`, `deleting ${relative}`), changed: true };
    },
    async run_command({ name }, signal) {
      const argv = Object.hasOwn(manifest.commands, name) ? manifest.commands[name] : undefined;
      if (!argv) {
        const allowed = Object.keys(manifest.commands).sort().join(', ');
        return refused(
          `"${name}" is not a declared command of this template; declared: ${allowed}`,
          `running ${name}`,
        );
      }
      const result = await runCommand({
        argv,
        cwd: dir,
        timeoutMs: options.commandTimeoutMs,
        maxOutputBytes: options.outputCap,
        ...(signal ? { signal } : {}),
      });
      const failed = result.timedOut || result.exitCode !== 0;
      const status = result.timedOut
        ? `timed out after ${formatMs(options.commandTimeoutMs)}`
        : result.signal
          ? `killed by ${result.signal}`
          : `exit code ${result.exitCode}`;
      const output = redact(result.output);
      const text = `${name} (${argv.join(' ')}): ${status}${result.truncated ? ' (output truncated to its tail)' : ''}\n${output}`;
      return {
        content: text,
        isError: failed,
        changed: false,
        command: { name, failed, output },
        activity: `running ${name}`,
      };
    },
  };

  return {
    async run(name, input, signal) {
      if (!Object.hasOwn(inputs, name)) {
        return refused(
          `Unknown tool "${name}"; the tools are ${Object.keys(inputs).join(', ')}`,
          `calling ${name}`,
        );
      }
      const tool = name as ToolName;
      const parsed = inputs[tool].safeParse(input);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) =>
          i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message,
        );
        return refused(`Invalid input for ${tool}: ${issues.join('; ')}`, `calling ${tool}`);
      }
      try {
        // biome-ignore lint/suspicious/noExplicitAny: the parsed input matches the handler of the same name
        const outcome = await (handlers[tool] as (input: any, signal?: AbortSignal) => Promise<ToolOutcome>)(
          parsed.data,
          signal,
        );
        return { ...outcome, content: redact(outcome.content) };
      } catch (error) {
        if (signal?.aborted) throw signal.reason ?? error;
        const message =
          error instanceof ToolRefusal || PipelineError.isInstance(error)
            ? (error as Error).message
            : `${tool} failed: ${(error as Error).message ?? String(error)}`;
        return refused(redact(message.split(dir).join('.')), `calling ${tool}`);
      }
    },
    async changedFiles() {
      const changed: string[] = [];
      for (const [relative, before] of originals) {
        const now = await current(await resolveInside(dir, relative)).catch(() => null);
        if (now !== before) changed.push(relative);
      }
      return changed.sort();
    },
    async writeTracked(path, content) {
      const { absolute, relative } = await confined(path);
      return write(relative, absolute, content);
    },
  };
}

class ToolRefusal extends Error {}

function relativePath(root: string, absolute: string): string {
  return relativeTo(root, absolute).split(sep).join('/');
}

/** A duration for a person: `300 ms`, `45 s`, `5 min`. */
export function formatMs(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1_000)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

function ok(content: string, activity: string): ToolOutcome {
  return { content, isError: false, changed: false, activity };
}

function refused(content: string, activity: string): ToolOutcome {
  return { content, isError: true, changed: false, activity };
}
