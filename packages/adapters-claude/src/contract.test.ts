import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Workspace } from '@mvp-pipeline/core';
import { codeGeneratorContract, type FilesAccess } from '@mvp-pipeline/core/testing';
import { listFiles, resolveInside } from '@mvp-pipeline/workspace';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClaudeCodeGenerator } from './generator.js';
import { endTurn, scripted, startMessagesStandIn, toolCalls, writeTinyTemplate } from './testing/index.js';

const KEY = `sk-ant-api03-${'c'.repeat(48)}`;

/** Workspaces as folders under one temporary root. */
function diskFiles(root: string): FilesAccess {
  let n = 0;
  return {
    async newWorkspace(jobId = `job_${++n}`) {
      const dir = join(root, jobId);
      await mkdir(dir, { recursive: true });
      return { jobId, dir };
    },
    async write(workspace: Workspace, path: string, content: string) {
      const file = await resolveInside(workspace.dir, path);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, content);
    },
    async read(workspace: Workspace, path: string) {
      return readFile(await resolveInside(workspace.dir, path), 'utf8').catch(() => undefined);
    },
    async remove(workspace: Workspace, path: string) {
      await rm(await resolveInside(workspace.dir, path), { force: true });
    },
    list: (workspace: Workspace) => listFiles(workspace.dir),
  };
}

// A scripted session standing in for the model: it writes the feature, builds, and finishes.
const session = () =>
  scripted([
    toolCalls([{ name: 'read_file', input: { path: 'NOTES.md' } }]),
    toolCalls([
      {
        name: 'write_file',
        input: {
          path: 'src/app.mjs',
          content:
            "export function render() {\n  return '<h1>EventHub</h1><p>Event page with RSVP</p>';\n}\n",
        },
      },
    ]),
    toolCalls([{ name: 'run_command', input: { name: 'build' } }]),
    endTurn('EventHub has its event page.'),
  ]);

codeGeneratorContract(
  { describe, it, expect, beforeEach, afterEach },
  'Claude (scripted stand-in)',
  async () => {
    const standIn = await startMessagesStandIn({ apiKey: KEY, script: session() });
    const root = await mkdtemp(join(tmpdir(), 'claude-contract-'));
    const files = diskFiles(root);
    return {
      generator: createClaudeCodeGenerator({ apiKey: KEY, baseUrl: standIn.url }),
      files,
      async prepare() {
        const workspace = await files.newWorkspace();
        const manifest = await writeTinyTemplate(workspace.dir);
        return { workspace, manifest };
      },
      async dispose() {
        await standIn.close();
        await rm(root, { recursive: true, force: true });
      },
    };
  },
);
