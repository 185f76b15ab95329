import type { Deployer, StepCheckpoint } from '../ports/deployer.port.js';
import { recordingReporter } from './code-generator.contract.js';
import { type Harness, type TestApi, withHarness } from './test-api.js';

export interface DeployerHarness extends Harness {
  deployer: Deployer;
  /** A built site (absolute path) whose pages contain `text`. */
  site(files: Record<string, string>): Promise<string>;
  /** The page at `url`, as a browser would get it (undefined when it does not answer). */
  fetchPage(url: string): Promise<string | undefined>;
  /** How many deployments the target holds (to prove nothing is deployed twice). */
  deploymentCount(): Promise<number>;
}

/** A StepCheckpoint kept in memory, as the job record would keep it. */
export function memoryCheckpoint(
  saved?: Record<string, unknown>,
): StepCheckpoint & { data: Record<string, unknown> } {
  const state = { data: { ...saved } };
  return {
    get data() {
      return state.data;
    },
    get saved() {
      return Object.keys(state.data).length ? state.data : undefined;
    },
    save: async (data) => {
      state.data = { ...state.data, ...data };
    },
  };
}

export function deployerContract(
  t: TestApi,
  name: string,
  create: () => Promise<DeployerHarness> | DeployerHarness,
): void {
  const { describe, it, expect } = t;
  describe(`Deployer contract: ${name}`, () => {
    withHarness(t, create, (use) => {
      const deployOnce = async (
        jobId: string,
        commit: string,
        outputDir: string,
        checkpoint = memoryCheckpoint(),
      ) =>
        use().deployer.deploy({
          jobId,
          commit,
          projectName: 'eventhub',
          outputDir,
          checkpoint,
          report: recordingReporter(),
        });

      it('publishes a site whose staging and production URLs serve it', async () => {
        const { site, fetchPage } = use();
        const dir = await site({ 'index.html': '<h1>EventHub</h1>' });
        const result = await deployOnce('job_d1', 'c0ffee1', dir);
        expect(result.deploymentId).toMatch(/\S/);
        expect(await fetchPage(result.stagingUrl)).toContain('EventHub');
        expect(await fetchPage(result.productionUrl)).toContain('EventHub');
      });

      it('returns the same deployment for the same job and commit', async () => {
        const { site, deploymentCount } = use();
        const dir = await site({ 'index.html': '<h1>EventHub</h1>' });
        const first = await deployOnce('job_d2', 'c0ffee2', dir);
        const count = await deploymentCount();
        const again = await deployOnce('job_d2', 'c0ffee2', dir);
        expect(again.deploymentId).toBe(first.deploymentId);
        expect(await deploymentCount()).toBe(count);
      });

      it('deploys a new commit as a new deployment and moves production to it', async () => {
        const { site, fetchPage } = use();
        const first = await deployOnce(
          'job_d3',
          'aaaaaaa',
          await site({ 'index.html': '<h1>EventHub v1</h1>' }),
        );
        const second = await deployOnce(
          'job_d3',
          'bbbbbbb',
          await site({ 'index.html': '<h1>EventHub v2</h1>' }),
        );
        expect(second.deploymentId).not.toBe(first.deploymentId);
        expect(await fetchPage(second.productionUrl)).toContain('v2');
      });
    });
  });
}
