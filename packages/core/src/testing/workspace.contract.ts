import type { WorkspaceProvider } from '../ports/workspace.port.js';
import type { FilesAccess } from './files-access.js';
import { type Harness, type TestApi, withHarness } from './test-api.js';

export interface WorkspaceProviderHarness extends Harness {
  provider: WorkspaceProvider;
  files: FilesAccess;
  exists(dir: string): Promise<boolean>;
}

export function workspaceProviderContract(
  t: TestApi,
  name: string,
  create: () => Promise<WorkspaceProviderHarness> | WorkspaceProviderHarness,
): void {
  const { describe, it, expect } = t;
  describe(`WorkspaceProvider contract: ${name}`, () => {
    withHarness(t, create, (use) => {
      it('hands out distinct empty workspaces and removes them (twice is harmless)', async () => {
        const { provider, files, exists } = use();
        const { workspace: a } = await provider.create({ jobId: 'job_a' });
        const { workspace: b } = await provider.create({ jobId: 'job_a' });
        expect(a.dir).not.toBe(b.dir);
        expect(await files.list(a)).toEqual([]);
        await files.write(a, 'x.txt', 'x');
        await provider.dispose({ workspace: a });
        await provider.dispose({ workspace: a });
        expect(await exists(a.dir)).toBe(false);
        expect(await exists(b.dir)).toBe(true);
        await provider.dispose({ workspace: b });
      });
    });
  });
}
