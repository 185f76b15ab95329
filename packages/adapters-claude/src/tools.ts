import { readFile, rm, stat } from 'node:fs/promises';
import { relative as relativeTo, sep } from 'node:path';
import type { Tool } from '@anthropic-ai/sdk/resources/messages/messages';
import {
  type AppWorkbench,
  type BuildResult,
  type JourneyReport,
  PipelineError,
  protectingRule,
  type QueryOutcome,
  type Redactor,
  type TemplateManifest,
} from '@mvp-pipeline/core';
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
  /** The pipeline's checks of a server app: with it come add_dependency, check_app and query_database. */
  workbench?: AppWorkbench | undefined;
  /** Which packages add_dependency may add. */
  dependencies?: DependencyPolicy | undefined;
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
  add_dependency: z
    .object({ name: z.string().min(1, 'name must not be empty'), version: z.string().min(1).optional() })
    .strict(),
  check_app: z.object({}).strict(),
  query_database: z.object({ sql: z.string().min(1, 'sql must not be empty').max(20_000) }).strict(),
} as const;

/** The tools that need the workbench (a server app with a database). */
const WORKBENCH_TOOLS: readonly ToolName[] = ['add_dependency', 'check_app', 'query_database'];

/**
 * Which npm packages the model may add: `deny` wins over `allow`; without `allow` any package
 * the registry has. Entries are names or `@scope/*`.
 */
export interface DependencyPolicy {
  allow?: readonly string[] | undefined;
  deny?: readonly string[] | undefined;
}

/** Why the policy refuses `name`, if it does. */
export function dependencyRefusal(policy: DependencyPolicy | undefined, name: string): string | undefined {
  const matches = (entry: string) =>
    entry.endsWith('/*') ? name.startsWith(entry.slice(0, -1)) : entry === name;
  const denied = policy?.deny?.find(matches);
  if (denied)
    return `${name} is on the deny list of dependencies (${denied}); use another package or write the code`;
  if (policy?.allow && !policy.allow.some(matches)) {
    return `${name} is not on the allow list of dependencies (${policy.allow.join(', ')})`;
  }
  return undefined;
}

export type ToolName = keyof typeof inputs;

/**
 * The tool definitions sent to the model. `run_command` names only the template's declared
 * commands; the workbench's tools come only with a workbench.
 */
export function toolDefinitions(manifest: TemplateManifest, withWorkbench = false): Tool[] {
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
    ...(withWorkbench ? workbenchTools() : []),
  ];
}

function workbenchTools(): Tool[] {
  return [
    {
      name: 'add_dependency',
      description:
        'Add an npm package to package.json, pinned to an exact version, with the lockfile updated and the packages installed (install scripts do not run). Only packages the registry has; some may be refused by policy. package.json and pnpm-lock.yaml cannot be edited any other way.',
      input_schema: {
        type: 'object',
        properties: {
          name: { type: 'string', description: 'The package name, e.g. date-fns or @scope/name' },
          version: { type: 'string', description: 'A version or range; omit for the latest' },
        },
        required: ['name'],
      },
    },
    {
      name: 'check_app',
      description:
        "Run the pipeline's own check of the app, the one that decides whether it ships: install, generate, build, migrate a fresh throwaway database, test, then start the app and walk the user journeys in a browser (sign up, sign in, each entity's forms, access rules). Returns the failures, and for each page visited what it shows (headings, forms, buttons, links) with its console errors and failed requests. Slow (a build): run it after a set of changes, not after each edit.",
      input_schema: { type: 'object', properties: {} },
    },
    {
      name: 'query_database',
      description:
        'Run one read-only SQL statement (PostgreSQL) against the database of the last check_app (what the journeys stored), e.g. to see the tables your migrations made. At most 50 rows come back; writes are refused.',
      input_schema: {
        type: 'object',
        properties: { sql: { type: 'string', description: 'One SQL statement' } },
        required: ['sql'],
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
  const { dir, manifest, redact, workbench } = options;
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
      if (argv && workbench && name === 'install') {
        const installed = await workbench.install(signal ? { signal } : {});
        const output = redact(installed.output);
        return {
          content: `install: ${installed.ok ? 'done' : 'failed'}\n${output}`,
          isError: !installed.ok,
          changed: false,
          command: { name, failed: !installed.ok, output },
          activity: 'installing the dependencies',
        };
      }
      if (argv && workbench && name === 'migrate') {
        return refused(
          'migrate runs inside check_app, against a fresh throwaway database: call check_app',
          'running migrate',
        );
      }
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
    async add_dependency({ name, version }, signal) {
      const bench = needBench();
      const activity = `adding the dependency ${name}`;
      const policy = dependencyRefusal(options.dependencies, name);
      if (policy) return refused(policy, activity);
      // Tracked like the model's own writes, so the session's list of changed files has them.
      for (const file of ['package.json', 'pnpm-lock.yaml'])
        await remember(file, await resolveInside(dir, file));
      const added = await bench.addDependency({
        name,
        ...(version !== undefined ? { version } : {}),
        ...(signal ? { signal } : {}),
      });
      // package.json and the lockfile changed: the build must pass again.
      return { content: added.output, isError: !added.ok, changed: added.version !== undefined, activity };
    },
    async check_app(_input, signal) {
      const checked = await needBench().check(signal ? { signal } : {});
      const text = describeCheck(checked);
      return {
        content: text,
        isError: !passed(checked),
        changed: false,
        command: { name: 'check_app', failed: !passed(checked), output: text },
        activity: 'checking the app (build and journeys)',
      };
    },
    async query_database({ sql }, signal) {
      const answer = await needBench().query({ sql, ...(signal ? { signal } : {}) });
      if (!answer.ok) return refused(`The database refused it: ${answer.message}`, 'querying the database');
      return ok(describeRows(answer), 'querying the database');
    },
  };

  const needBench = (): AppWorkbench => {
    if (!workbench) throw new ToolRefusal('This template has no app to check: the tool is not available');
    return workbench;
  };

  return {
    async run(name, input, signal) {
      if (!Object.hasOwn(inputs, name) || (!workbench && WORKBENCH_TOOLS.includes(name as ToolName))) {
        return refused(
          `Unknown tool "${name}"; the tools are ${toolDefinitions(manifest, Boolean(workbench))
            .map((t) => t.name)
            .join(', ')}`,
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

type Checked = { build: BuildResult; journeys?: JourneyReport };

function passed(checked: Checked): boolean {
  return checked.build.ok && (checked.journeys?.ok ?? true);
}

/** check_app's answer: the build's failure, or each journey and what each page shows. */
export function describeCheck(checked: Checked): string {
  const { build, journeys } = checked;
  if (!build.ok) return `The check failed before the app could start: ${build.summary}\n\n${build.output}`;
  if (!journeys) return `Built (${build.checks.join(', ')}); no journeys ran`;
  const failed = journeys.results.filter((r) => !r.ok);
  const lines = [
    failed.length === 0
      ? `All ${journeys.results.length} journeys passed (${journeys.mode === 'browser' ? 'in a browser' : 'HTTP only'}).`
      : `${failed.length} of ${journeys.results.length} journeys failed:`,
    ...failed.map((r) => `- ${r.name}: ${r.failure ?? 'no reason given'}`),
  ];
  if (journeys.pages?.length) {
    lines.push('', 'Pages visited:');
    for (const page of journeys.pages) {
      lines.push(
        `## ${page.path}${page.status !== undefined ? ` (${page.status})` : ''}: ${page.title || 'no title'}`,
      );
      if (page.headings.length) lines.push(`headings: ${page.headings.join(' | ')}`);
      for (const form of page.forms) lines.push(`form: ${form}`);
      if (page.buttons.length) lines.push(`buttons: ${page.buttons.join(' | ')}`);
      if (page.links.length) lines.push(`links: ${page.links.join(' | ')}`);
      for (const problem of page.problems) lines.push(`PROBLEM: ${problem}`);
    }
  }
  return lines.join('\n');
}

function describeRows(answer: Extract<QueryOutcome, { ok: true }>): string {
  if (answer.columns.length === 0) return `OK (${answer.rowCount} rows)`;
  const cell = (value: unknown) => {
    const text = value === null ? 'NULL' : typeof value === 'object' ? JSON.stringify(value) : String(value);
    return text.length > 200 ? `${text.slice(0, 199)}…` : text;
  };
  return [
    answer.columns.join(' | '),
    ...answer.rows.map((row) => row.map(cell).join(' | ')),
    `(${answer.rowCount} rows${answer.truncated ? `; the first ${answer.rows.length} shown` : ''})`,
  ].join('\n');
}
