import type { FeatureOutcome } from './app-model.js';
import type { Job } from './job.js';

/** What one journey of the app check found; `failure` says what went wrong, for a developer. */
export interface JourneyResult {
  name: string;
  ok: boolean;
  failure?: string;
  durationMs: number;
}

/** The journey check of a built app: every journey walked, in a browser or over HTTP only. */
export interface JourneyReport {
  /** `browser`: walked in Chromium; `http`: the API-level journeys only (no browser here). */
  mode: 'browser' | 'http';
  results: JourneyResult[];
  ok: boolean;
  /** With `outline`: what each visited page shows, for a generator (never kept on the record). */
  pages?: PageOutline[];
}

/** What one page shows, in a few words: its headings, forms and buttons, and what went wrong on it. */
export interface PageOutline {
  /** The path visited, e.g. `/events/new`. */
  path: string;
  status?: number;
  title: string;
  headings: string[];
  /** Per form, its fields' labels (or names) and its submit button. */
  forms: string[];
  buttons: string[];
  links: string[];
  /** Console errors, script errors and failed requests seen on it. */
  problems: string[];
}

/**
 * What a job delivers: a working `app` (its features built from the app model) or a
 * `landing-page-only` site (no feature runs), and per key feature of the spec what built it
 * (`builtBy: null`: nothing did; it is shown as not built, never hidden behind "Live").
 */
export interface Delivery {
  kind: 'app' | 'landing-page-only';
  features: FeatureOutcome[];
}

/** The job's delivery with the latest journey results, as status views show them. */
export function deliveryOf(job: Job): (Delivery & { journeys?: JourneyReport }) | undefined {
  const delivery = job.checkpoints.AI_DEVELOPMENT?.delivery;
  if (!delivery) return undefined;
  const journeys = job.checkpoints.BUILDING?.journeys ?? job.checkpoints.repair?.journeys;
  return journeys ? { ...delivery, journeys } : delivery;
}

/** The delivery of a template without an app model: the spec's key features, none built. */
export function landingPageOnly(keyFeatures: readonly string[]): Delivery {
  return {
    kind: 'landing-page-only',
    features: keyFeatures.map((feature) => ({ feature, builtBy: null })),
  };
}
