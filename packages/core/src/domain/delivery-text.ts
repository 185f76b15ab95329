import type { NotificationDelivery } from '../ports/notifier.port.js';
import type { Delivery, JourneyReport } from './delivery.js';

/** A delivery as a notification carries it: the features without their entities, journeys counted. */
export function notificationDelivery(
  delivery: Delivery & { journeys?: JourneyReport },
): NotificationDelivery {
  const features = delivery.features.map(({ feature, builtBy, recipe }) => ({
    feature,
    builtBy,
    ...(recipe !== undefined ? { recipe } : {}),
  }));
  const { journeys } = delivery;
  if (!journeys) return { kind: delivery.kind, features };
  const failed = journeys.results.filter((r) => !r.ok).map((r) => r.name);
  return {
    kind: delivery.kind,
    features,
    journeys: {
      mode: journeys.mode,
      ok: journeys.ok,
      passed: journeys.results.length - failed.length,
      total: journeys.results.length,
      failed,
    },
  };
}

const isBuilt = (f: NotificationDelivery['features'][number]) =>
  f.builtBy === 'recipe' || f.builtBy === 'model' || f.builtBy === 'ai';

/** How many key features nothing built (an unknown `builtBy` counts as not built). */
export function featuresNotBuilt(delivery: NotificationDelivery): number {
  return delivery.features.filter((f) => !isBuilt(f)).length;
}

/**
 * One phrase for a subject or a headline: "a working app", "a working app, 1 of 4 key features
 * not built", "a landing page only".
 */
export function deliveryHeadline(delivery: NotificationDelivery): string {
  if (delivery.kind !== 'app') return 'a landing page only';
  const missing = featuresNotBuilt(delivery);
  return missing === 0
    ? 'a working app'
    : `a working app, ${missing} of ${delivery.features.length} key features not built`;
}

/**
 * The per-feature list in words, for a message body: "Built: RSVP (recipe rsvp), Check-in (app
 * model). Not built: Payments. Journeys in a browser: 3 of 4 passed (failed: visitor RSVPs)."
 */
export function deliveryDetails(delivery: NotificationDelivery): string {
  const how = (f: NotificationDelivery['features'][number]) =>
    f.builtBy === 'recipe' ? `recipe ${f.recipe ?? '?'}` : f.builtBy === 'model' ? 'app model' : 'AI';
  const built = delivery.features.filter(isBuilt).map((f) => `${f.feature} (${how(f)})`);
  const notBuilt = delivery.features.filter((f) => !isBuilt(f)).map((f) => f.feature);
  const parts = [
    ...(built.length ? [`Built: ${built.join(', ')}.`] : []),
    ...(notBuilt.length ? [`Not built: ${notBuilt.join(', ')}.`] : []),
  ];
  const { journeys } = delivery;
  if (journeys) {
    const where = journeys.mode === 'browser' ? 'in a browser' : 'over HTTP';
    const failed = journeys.failed.length ? ` (failed: ${journeys.failed.join(', ')})` : '';
    parts.push(`Journeys ${where}: ${journeys.passed} of ${journeys.total} passed${failed}.`);
  }
  return parts.join(' ');
}
