// @ts-check
// Builds one MVP with the installed pipeline and our own Deployer:
//   node src/main.js <spec.json>
// Everything else is the pipeline's embedded default (file job store under MVP_DATA_DIR, local
// git repositories, the template generator). Prints one JSON line: the job's end and what our
// host serves at its URL. Exit 0 when the job COMPLETED and the page names the product.
import { join, resolve } from 'node:path';
import { runJob, submitJob } from '@mvp-pipeline/core';
import { createPipeline, loadConfig, TOKENS } from '@mvp-pipeline/runner-batch';
import { startStaticHost } from './static-deployer.js';

const specFile = process.argv[2];
if (!specFile) {
  process.stderr.write('usage: node src/main.js <spec.json>\n');
  process.exit(2);
}
const dataDir = resolve(process.env['MVP_DATA_DIR'] ?? '.mvp');
const host = await startStaticHost({ root: join(dataDir, 'our-host') });
const pipeline = await createPipeline({
  // Our host serves static files, so jobs build the `landing` template (the default `app`
  // template is a server app with a database: its Deployer must run it).
  config: loadConfig({ ...process.env, MVP_DATA_DIR: dataDir, MVP_TEMPLATE: 'landing' }),
  configure: (container) => container.rebind(TOKENS.Deployer).toConstantValue(host.deployer),
  logLevel: 'warn',
});
let exitCode = 1;
try {
  if (!pipeline.specFiles) throw new Error('the configured SpecSource has no registry');
  const spec = await pipeline.specFiles.registerFile(specFile);
  const { job } = await submitJob(pipeline.deps, { userId: spec.user.id, productId: spec.product.id });
  const { job: ended } = await runJob(pipeline.deps, { jobId: job.jobId });
  const url = ended.urls.production;
  const page = url ? await fetch(url) : undefined;
  const body = page ? await page.text() : '';
  const namesProduct = body.includes(spec.product.name);
  process.stdout.write(
    `${JSON.stringify({
      jobId: ended.jobId,
      status: ended.status,
      productionUrl: url,
      hostUrl: host.url,
      pageStatus: page?.status,
      contentType: page?.headers.get('content-type'),
      namesProduct,
      errors: ended.errors.map((e) => `${e.step} ${e.code}: ${e.message}`),
    })}\n`,
  );
  exitCode = ended.status === 'COMPLETED' && namesProduct ? 0 : 1;
} finally {
  await pipeline.close();
  await host.close();
}
process.exitCode = exitCode;
