import { createFakePipeline } from '@mvp-pipeline/adapters-local';
import { describe, expect, it } from 'vitest';
import { deliveryDetails, deliveryHeadline, featuresNotBuilt } from '../domain/delivery-text.js';
import type { Job } from '../domain/job.js';
import { sampleJob } from '../testing/fixtures.js';
import { notificationOf } from './notify.js';

/** A completed app job whose record says what it delivers. */
function delivered(): Job {
  const job = sampleJob({ jobId: 'job_done' });
  job.status = 'COMPLETED';
  job.currentStep = 'COMPLETED';
  job.urls.production = 'https://eventhub.example.com';
  job.checkpoints.AI_DEVELOPMENT = {
    commit: 'c1',
    generator: 'template',
    summary: 'app',
    filesChanged: 3,
    delivery: {
      kind: 'app',
      features: [
        { feature: 'Event page with RSVP', builtBy: 'recipe', recipe: 'rsvp', entities: ['event'] },
        { feature: 'Speaker bios', builtBy: 'model' },
        { feature: 'Payments', builtBy: null },
      ],
    },
  };
  job.checkpoints.BUILDING = {
    commit: 'c1',
    outputDir: '.next',
    checks: [],
    journeys: {
      mode: 'browser',
      ok: false,
      results: [
        { name: 'organiser signs up', ok: true, durationMs: 1 },
        { name: 'visitor RSVPs', ok: false, failure: 'no Confirm button', durationMs: 2 },
      ],
    },
  };
  return job;
}

describe('the end notification', () => {
  const { deps } = createFakePipeline();

  it('carries each key feature, built or not, and the journey tally of a completed job', () => {
    const notification = notificationOf(deps, delivered());
    expect(notification.delivery).toEqual({
      kind: 'app',
      features: [
        { feature: 'Event page with RSVP', builtBy: 'recipe', recipe: 'rsvp' },
        { feature: 'Speaker bios', builtBy: 'model' },
        { feature: 'Payments', builtBy: null },
      ],
      journeys: { mode: 'browser', ok: false, passed: 1, total: 2, failed: ['visitor RSVPs'] },
    });
    const delivery = notification.delivery!;
    expect(featuresNotBuilt(delivery)).toBe(1);
    expect(deliveryHeadline(delivery)).toBe('a working app, 1 of 3 key features not built');
    expect(deliveryDetails(delivery)).toBe(
      'Built: Event page with RSVP (recipe rsvp), Speaker bios (app model). Not built: Payments. ' +
        'Journeys in a browser: 1 of 2 passed (failed: visitor RSVPs).',
    );
  });

  it('says landing page only, and leaves the delivery out of failures and older records', () => {
    const job = delivered();
    job.checkpoints.AI_DEVELOPMENT!.delivery = {
      kind: 'landing-page-only',
      features: [{ feature: 'Waitlist', builtBy: null }],
    };
    delete job.checkpoints.BUILDING;
    const landing = notificationOf(deps, job).delivery!;
    expect(landing).toEqual({
      kind: 'landing-page-only',
      features: [{ feature: 'Waitlist', builtBy: null }],
    });
    expect(deliveryHeadline(landing)).toBe('a landing page only');
    expect(deliveryDetails(landing)).toBe('Not built: Waitlist.');

    const failed = delivered();
    failed.status = 'FAILED';
    expect(notificationOf(deps, failed).delivery).toBeUndefined();
    const older = delivered();
    delete older.checkpoints.AI_DEVELOPMENT!.delivery;
    expect(notificationOf(deps, older)).not.toHaveProperty('delivery');
  });

  it('counts a builtBy it does not know as not built', () => {
    const job = delivered();
    (job.checkpoints.AI_DEVELOPMENT!.delivery!.features[0] as { builtBy: unknown }).builtBy = 'magic';
    expect(deliveryHeadline(notificationOf(deps, job).delivery!)).toBe(
      'a working app, 2 of 3 key features not built',
    );
  });
});
