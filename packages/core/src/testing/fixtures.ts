import { createJobRecord, type Job } from '../domain/job.js';
import type { ProductSpec } from '../domain/spec.js';

/** A valid spec with every optional part filled. */
export function sampleSpec(
  overrides: { userId?: string; productId?: string; name?: string } = {},
): ProductSpec {
  return {
    user: {
      id: overrides.userId ?? 'user_1',
      email: 'founder@example.com',
      name: 'Ada Okafor',
      branding: { colors: ['#4F46E5', '#F59E0B'], fonts: ['Inter'] },
    },
    product: {
      id: overrides.productId ?? 'product_1',
      name: overrides.name ?? 'EventHub',
      tagline: 'Run your meetup without the spreadsheet',
      description: 'Publish an event page, collect RSVPs, check attendees in.',
    },
    specifications: {
      targetAudience: 'Meetup organisers',
      keyFeatures: ['Event page with RSVP', 'Waitlist when full'],
      designPreferences: { darkMode: true },
    },
  };
}

let counter = 0;

/** A fresh PENDING job record for store tests. */
export function sampleJob(
  overrides: Partial<Pick<Job, 'jobId' | 'userId' | 'productId'>> & { createdAt?: Date } = {},
): Job {
  counter++;
  return createJobRecord({
    jobId: overrides.jobId ?? `job_${Date.now().toString(36)}_${counter}`,
    userId: overrides.userId ?? 'user_1',
    productId: overrides.productId ?? 'product_1',
    businessName: 'EventHub',
    template: 'landing',
    now: overrides.createdAt ?? new Date(Date.UTC(2026, 0, 1, 0, 0, counter % 60)),
  });
}
