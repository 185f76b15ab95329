import { parseArgs } from 'node:util';
import { findChromium } from '@mvp-pipeline/adapters-local';
import { loadConfig } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { withSecrets } from '../secrets.js';
import { onSignals } from '../signals.js';
import { UsageError } from '../usage-error.js';
import { wholeNumberOption } from '../whole-number.js';
import { startServer } from './server.js';

const HELP = `mvp serve — the dashboard, the status API and the published sites, with a worker

Usage: mvp serve [--port N] [--host H] [--concurrency N]

  --port N          the port (default 4173)
  --host H          the interface (default 127.0.0.1); beyond loopback MVP_SERVE_TOKEN is required
  --concurrency N   jobs run at the same time (default 2)

Environment: MVP_SERVE_TOKEN (bearer token, or open the page once with ?token=…),
MVP_BROWSER_CHECK=auto|off (check sites in Chromium when installed; default auto),
MVP_CHROMIUM_PATH (the Chromium to use), and the pipeline's own variables (see the README).
`;

type Env = Record<string, string | undefined>;

/** `mvp serve`: runs until SIGINT/SIGTERM, then stops cleanly (running jobs stay resumable). */
export async function serveCommand(args: string[], env: Env = process.env): Promise<number> {
  let values: { port?: string; host?: string; concurrency?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        concurrency: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^.*?: /, ''));
  }
  if (values.help) {
    process.stdout.write(HELP);
    return EXIT.OK;
  }
  const port = values.port === undefined ? 4173 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be a port number (0-65535), got ${JSON.stringify(values.port)}`);
  const concurrency = wholeNumberOption('--concurrency', values.concurrency, 2, 1, 64);
  const config = loadConfig(await withSecrets(env));
  const token = config.serveToken;
  const stop = onSignals();
  const server = await startServer({
    config,
    host: values.host ?? '127.0.0.1',
    port,
    concurrency,
    // The dashboard shows each job's progress; the log carries what needs attention.
    logLevel: config.logFormat === 'json' ? 'info' : 'warn',
    ...(token ? { token } : {}),
  });
  const out = process.stderr;
  out.write(`Dashboard  ${server.url}/${token ? '  (open it once with ?token=<MVP_SERVE_TOKEN>)' : ''}\n`);
  out.write(`Status API ${server.url}/api/mvp/status/:jobId · sites under ${server.url}/sites/\n`);
  const apps = server.apps();
  if (apps.length > 0)
    out.write(
      `Apps       ${apps.map((a) => `${a.slug} http://127.0.0.1:${a.port}/`).join(' · ')} (each starts on its first request)\n`,
    );
  const chromium = config.browserCheck === 'off' ? undefined : findChromium(config.chromiumPath);
  out.write(
    `${server.pipeline.localTrigger ? `Worker running (concurrency ${concurrency})` : 'No worker here: jobs run where the trigger sends them'}; site check: ${chromium ? `Chromium (${chromium})` : 'http'}. Ctrl-C stops.\n`,
  );
  try {
    await new Promise<void>((resolve) =>
      stop.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    out.write('Stopping…\n');
    await server.close();
    return EXIT.OK;
  } finally {
    stop.dispose();
  }
}
