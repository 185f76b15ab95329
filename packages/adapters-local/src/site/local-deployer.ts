import type { Deployer } from '@mvp-pipeline/core';

/**
 * The embedded Deployer: a server app (a manifest that declares `start`) goes to the app
 * deployer, which runs it against its database; anything else is a static site. Owner links
 * come from the app deployer; `remove` asks both.
 */
export function createLocalDeployer(deployers: { site: Deployer; app: Deployer }): Deployer {
  const { site, app } = deployers;
  return {
    specificationVersion: 'v1',
    deploy: (options) => (options.manifest?.start ? app : site).deploy(options),
    ...(app.issueOwnerClaim ? { issueOwnerClaim: app.issueOwnerClaim.bind(app) } : {}),
    // A job has one kind of site, but ask both: the record does not say which it was.
    async remove(options) {
      const removed: string[] = [];
      for (const deployer of [site, app]) {
        if (deployer.remove) removed.push(...(await deployer.remove(options)).removed);
      }
      return { removed };
    },
  };
}
