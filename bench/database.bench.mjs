// Provisioning time per MVP on the server provisioner (createPostgresServerProvisioner, the
// `server` mode of MVP_DATABASE_PROVISIONER) against a PostgreSQL server we administer
// (MVP_APPS_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres): a new MVP's role
// and database, a retried provisioning that finds them, the same over TLS verified against a CA
// of our own (a loopback TLS front, as MVP_APPS_DATABASE_CA is used in production), ten MVPs
// provisioned at once, and a release. Every database made here is released at the end.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const local = await import(new URL('../packages/adapters-local/dist/index.js', import.meta.url));
const fronts = await import(new URL('../packages/adapters-postgres/dist/testing/index.js', import.meta.url));

const ROUNDS = 10;
const CONCURRENT = 10;
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const ms = (start) => Math.round((performance.now() - start) * 10) / 10;

export async function run() {
  const adminUrl = process.env.MVP_APPS_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const dir = await mkdtemp(join(tmpdir(), 'mvp-db-bench-'));
  const tag = Date.now().toString(36);
  const made = [];
  const provisionerFor = (settings = {}) =>
    local.createPostgresServerProvisioner({
      adminUrl,
      passwords: local.createFilePasswordStore({ dir }),
      ...settings,
    });
  const plain = provisionerFor();
  const certificates = fronts.makeTestCertificates();
  const upstream = new URL(adminUrl);
  const front = await fronts.startPostgresFront({
    upstream: { host: upstream.hostname, port: Number(upstream.port || 5432) },
    tls: { cert: certificates.cert, key: certificates.key },
  });
  const tlsUrl = new URL(adminUrl);
  tlsUrl.host = `localhost:${front.port}`;
  tlsUrl.searchParams.set('sslmode', 'require');
  const verified = provisionerFor({ adminUrl: tlsUrl.toString(), ca: certificates.ca });

  const time = async (provisioner, jobId) => {
    const start = performance.now();
    await provisioner.provision({ jobId, purpose: 'app' });
    return ms(start);
  };
  try {
    const first = [];
    const again = [];
    const overTls = [];
    const releases = [];
    for (let i = 0; i < ROUNDS; i++) {
      const jobId = `job_bench_${tag}_${i}`;
      made.push(jobId);
      first.push(await time(plain, jobId));
      again.push(await time(plain, jobId));
      const tlsJob = `job_bench_tls_${tag}_${i}`;
      made.push(tlsJob);
      overTls.push(await time(verified, tlsJob));
    }
    const jobs = Array.from({ length: CONCURRENT }, (_, i) => `job_bench_many_${tag}_${i}`);
    made.push(...jobs);
    const start = performance.now();
    await Promise.all(jobs.map((jobId) => plain.provision({ jobId, purpose: 'app' })));
    const together = ms(start);
    for (const jobId of made.splice(0)) {
      const began = performance.now();
      await plain.release({ jobId, purpose: 'app' });
      releases.push(ms(began));
    }
    const firstMedian = median(first);
    return [
      {
        name: `a new MVP: role + database (median of ${ROUNDS})`,
        value: firstMedian,
        unit: 'ms',
        goal: '≤ 1000 ms',
        pass: firstMedian <= 1000,
      },
      {
        name: `a retried provisioning that finds them (median of ${ROUNDS})`,
        value: median(again),
        unit: 'ms',
        goal: '≤ the new MVP’s',
        pass: median(again) <= firstMedian,
      },
      {
        name: `a new MVP over TLS verified against the CA (median of ${ROUNDS})`,
        value: median(overTls),
        unit: 'ms',
        goal: '≤ 1000 ms',
        pass: median(overTls) <= 1000,
      },
      {
        name: `${CONCURRENT} new MVPs at once, per MVP`,
        value: Math.round((together / CONCURRENT) * 10) / 10,
        unit: 'ms',
        goal: '≤ 1000 ms',
        pass: together / CONCURRENT <= 1000,
      },
      {
        name: 'release: database, role and password (median)',
        value: median(releases),
        unit: 'ms',
        goal: '',
      },
    ];
  } finally {
    for (const jobId of made) await plain.release({ jobId, purpose: 'app' }).catch(() => undefined);
    await front.close();
    await rm(dir, { recursive: true, force: true });
  }
}
