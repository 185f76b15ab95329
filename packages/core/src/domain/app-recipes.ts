/**
 * Over 400 lines: the recipes are one ordered table; each is short and read beside the others.
 *
 * Feature recipes: how a spec without `specifications.app` becomes an app model. Pure functions,
 * shared by the template generator and any code generator that starts from the same baseline.
 * Each recipe matches key features by keywords and adds entities, fields, rules and access to
 * the model; a feature no recipe fits is recorded as not built (`builtBy: null`). The README's
 * "Feature recipes" section documents each one.
 */
import {
  APP_MODEL_LIMITS,
  APP_MODEL_VERSION,
  type AppEntity,
  type AppField,
  type AppModel,
  type FeatureOutcome,
  isReservedName,
  NAME_PATTERN,
  parseAppModel,
} from './app-model.js';
import type { ProductSpec } from './spec.js';

/** What {@link deriveAppModel} returns: the validated model and, per key feature, what built it. */
export interface DerivedAppModel {
  model: AppModel;
  features: FeatureOutcome[];
}

/** The recipe names, in the order a feature is matched against them. */
export const RECIPE_NAMES = [
  'accounts',
  'not-buildable',
  'booking',
  'check-in',
  'csv-export',
  'signup-capture',
  'contact-form',
  'directory',
  'owner-records',
] as const;
export type RecipeName = (typeof RECIPE_NAMES)[number];

const has = (text: string, ...patterns: RegExp[]) => patterns.some((p) => p.test(text));

const BOOKING =
  /\b(rsvps?|book(ing|ings|s)?|reserv(e|ation|ations)|register(ing)? for|registrations?|sign[- ]?ups? for|attend(ees?)?|seats?)\b/;
const CAPACITY = /\b(capacity|full|sold[- ]out|overflow|limit(ed)?|spots?|places?)\b/;
const WAITLIST = /\bwait[- ]?list(s|ed)?\b/;
const CHECK_IN = /\b(check[- ]?ins?|checked[- ]in|door|attendance|scan(ning)? tickets?)\b/;
const CSV = /\b(csv|export(s|ing)?|download(s|able)?|spreadsheet)\b/;
const SIGNUP =
  /\b(early[- ]access|newsletter|mailing[- ]list|subscribe(rs)?|pre[- ]?launch|lead[- ]capture|email capture|interest list|launch list)\b/;
const CONTACT =
  /\b(contact|feedback|enquir(y|ies)|inquir(y|ies)|get in touch|message us|support requests?|suggestions?|testimonials?)\b/;
const DIRECTORY =
  /\b(listings?|director(y|ies)|catalog(ue)?s?|gallery|browse|showcase|menu|portfolio|timetable|schedule|calendar|classes|events)\b/;
const ACCOUNTS =
  /\b(log[- ]?ins?|log[- ]in|sign[- ]?in|sign[- ]?up|accounts?|passwords?|auth(entication)?|profiles?)\b/;
// What the recipes cannot honestly build: money changing hands, messages sent on a schedule,
// third-party services. These are recorded as not built rather than faked as plain records.
const NOT_BUILDABLE =
  /\b(pay(ment|ments|s)?|checkout|stripe|billing|invoices?|pric(e|es|ing)|purchases?|buy(ing)?|passes|pass|credits?|memberships?|subscriptions?|reminders?|notifications?|notify|sms|push|e-?mails? (alerts?|reminders?|notifications?)|analytics|ai|chat ?bot|integrations?|sync|maps?|video|stream(ing)?|real[- ]?time)\b/;

// Words that never name a record.
const STOP = new Set(
  'a an and any are as at by each every for from in into is its mobile my of on online or our own page pages per simple the their to with your when via app web site list lists manage managed management track tracking view new create edit add easy quick basic one all'.split(
    ' ',
  ),
);

/** Which recipe a key feature matches, or `undefined` when none does. Exported for tests and docs. */
export function matchRecipe(feature: string): RecipeName | undefined {
  const t = feature.toLowerCase();
  // A waitlist for a full event belongs to the booking; a waitlist alone is sign-up capture.
  const bookingWaitlist = has(t, WAITLIST) && has(t, CAPACITY, BOOKING);
  if (has(t, CHECK_IN)) return 'check-in';
  if (has(t, CSV)) return 'csv-export';
  if (has(t, BOOKING) || bookingWaitlist || (has(t, CAPACITY) && !has(t, NOT_BUILDABLE))) {
    if (!has(t, NOT_BUILDABLE) || has(t, /\b(rsvps?|booking)\b/)) return 'booking';
  }
  if (has(t, NOT_BUILDABLE)) return 'not-buildable';
  if (has(t, SIGNUP) || has(t, WAITLIST)) return 'signup-capture';
  if (has(t, CONTACT)) return 'contact-form';
  if (has(t, ACCOUNTS)) return 'accounts';
  if (has(t, DIRECTORY)) return 'directory';
  return recordNoun(t) ? 'owner-records' : undefined;
}

/** snake_case singular of the last meaningful words of `text` (at most two), or undefined. */
function recordNoun(text: string, skip: RegExp[] = []): string | undefined {
  const words = text
    .toLowerCase()
    .split(/\s+(?:per|for each|for every|by)\s+/)[0]
    ?.replace(/[^a-z0-9 ]+/g, ' ')
    .split(/\s+/)
    .filter((w) => w && !STOP.has(w) && /^[a-z]/.test(w) && !skip.some((p) => p.test(w)));
  if (!words || words.length === 0) return undefined;
  const picked = words.slice(-2).map((w, i, all) => (i === all.length - 1 ? singular(w) : w));
  const name = picked.join('_').slice(0, APP_MODEL_LIMITS.nameLength);
  return safeName(name);
}

function safeName(name: string): string | undefined {
  if (!NAME_PATTERN.test(name)) return undefined;
  if (!isReservedName(name)) return name;
  const suffixed = `${name}_item`.slice(0, APP_MODEL_LIMITS.nameLength);
  return NAME_PATTERN.test(suffixed) && !isReservedName(suffixed) ? suffixed : undefined;
}

function singular(word: string): string {
  if (/ies$/.test(word) && word.length > 4) return `${word.slice(0, -3)}y`;
  if (/(ss|us|is)$/.test(word)) return word;
  if (/(ches|shes|xes|sses)$/.test(word)) return word.slice(0, -2);
  if (/s$/.test(word) && word.length > 3) return word.slice(0, -1);
  return word;
}

function title(name: string): string {
  const words = name.replaceAll('_', ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const pluralLabel = (label: string) =>
  /[^aeiou]y$/i.test(label)
    ? `${label.slice(0, -1)}ies`
    : /(s|x|ch|sh)$/i.test(label)
      ? `${label}es`
      : `${label}s`;

/** What the booking recipe calls the thing booked and the booking, by the words of the spec. */
function bookingNames(text: string): {
  parent: string;
  parentLabel: string;
  child: string;
  childLabel: string;
} {
  const child = /\brsvps?\b/.test(text) ? 'rsvp' : 'booking';
  const childLabel = child === 'rsvp' ? 'RSVP' : 'Booking';
  if (/\bclass(es)?\b/.test(text))
    return { parent: 'class_session', parentLabel: 'Class', child, childLabel };
  if (/\b(appointments?|consultations?)\b/.test(text)) {
    return { parent: 'appointment_slot', parentLabel: 'Appointment slot', child, childLabel };
  }
  if (/\b(tours?)\b/.test(text)) return { parent: 'tour', parentLabel: 'Tour', child, childLabel };
  if (/\b(workshops?)\b/.test(text))
    return { parent: 'workshop', parentLabel: 'Workshop', child, childLabel };
  if (/\b(events?|meetups?)\b/.test(text))
    return { parent: 'event', parentLabel: 'Event', child, childLabel };
  return { parent: 'slot', parentLabel: 'Slot', child, childLabel };
}

const adminOnly = {
  list: 'admin',
  read: 'admin',
  create: 'admin',
  update: 'admin',
  delete: 'admin',
} as const;

class ModelBuilder {
  readonly entities: AppEntity[] = [];
  booking: { parent: AppEntity; child: AppEntity } | undefined;

  find(name: string): AppEntity | undefined {
    return this.entities.find((e) => e.name === name);
  }

  add(entity: AppEntity): AppEntity | undefined {
    const existing = this.find(entity.name);
    if (existing) return existing;
    if (this.entities.length >= APP_MODEL_LIMITS.entities) return undefined;
    this.entities.push(entity);
    return entity;
  }

  /** The booked thing: a public timetable of rows the admin publishes. */
  parent(text: string): AppEntity | undefined {
    if (this.booking) return this.booking.parent;
    const names = bookingNames(text);
    return this.add({
      name: names.parent,
      label: names.parentLabel,
      plural: pluralLabel(names.parentLabel),
      fields: [
        { name: 'title', type: 'text', required: true, maxLength: 120 },
        { name: 'description', type: 'longText', maxLength: 5000 },
        { name: 'starts_at', type: 'datetime', required: true, label: 'Starts at' },
        { name: 'location', type: 'text', maxLength: 200 },
        { name: 'capacity', type: 'number', required: true, min: 1, max: 100_000, integer: true },
      ],
      access: { list: 'public', read: 'public', create: 'admin', update: 'admin', delete: 'admin' },
      display: 'title',
    });
  }

  bookingPair(text: string): { parent: AppEntity; child: AppEntity } | undefined {
    if (this.booking) return this.booking;
    const parent = this.parent(text);
    if (!parent) return undefined;
    const names = bookingNames(text);
    const child = this.add({
      name: names.child,
      label: names.childLabel,
      plural: `${names.childLabel}s`,
      fields: [
        { name: parent.name, type: 'reference', entity: parent.name, required: true, label: parent.label },
        { name: 'attendee', type: 'user' },
        { name: 'name', type: 'text', required: true, maxLength: 80 },
        { name: 'email', type: 'email', required: true, maxLength: 254 },
      ],
      access: { list: 'admin', read: 'owner', create: 'member', update: 'admin', delete: 'owner' },
      display: 'name',
      rules: {
        capacity: { parent: parent.name, capacityField: 'capacity' },
        onePerAccount: { scope: [parent.name] },
      },
    });
    if (!child) return undefined;
    this.booking = { parent, child };
    return this.booking;
  }

  /** The entity a feature's words name (`attendees` → the booking), else the best default. */
  target(text: string): AppEntity | undefined {
    if (this.booking && /\b(attendees?|guests?|rsvps?|bookings?|participants?|registrations?)\b/.test(text)) {
      return this.booking.child;
    }
    for (const entity of this.entities) {
      const words = [entity.name, entity.label.toLowerCase(), entity.plural.toLowerCase()];
      if (words.some((w) => text.includes(w.replaceAll('_', ' ')))) return entity;
    }
    return this.booking?.child ?? this.entities.find((e) => e.fields.some((f) => f.type === 'email'));
  }
}

type Outcome = { recipe: RecipeName; entities: string[] } | null;

function apply(recipe: RecipeName, feature: string, b: ModelBuilder): Outcome {
  const t = feature.toLowerCase();
  const done = (...entities: (AppEntity | undefined)[]): Outcome =>
    entities.every((e) => e !== undefined)
      ? { recipe, entities: entities.map((e) => (e as AppEntity).name) }
      : null;
  switch (recipe) {
    case 'accounts':
      // The template's accounts (sign up, sign in, sign out, sessions) build this; no entity.
      return { recipe, entities: [] };
    case 'not-buildable':
      return null;
    case 'booking': {
      const pair = b.bookingPair(t);
      return pair ? done(pair.parent, pair.child) : null;
    }
    case 'check-in': {
      const pair = b.bookingPair(t);
      if (!pair) return null;
      pair.child.rules = { ...pair.child.rules, checkIn: true };
      return done(pair.child);
    }
    case 'csv-export': {
      const entity = b.target(t);
      if (!entity) return null;
      entity.rules = { ...entity.rules, csvExport: true };
      return done(entity);
    }
    case 'signup-capture':
      return done(
        b.add({
          name: 'waitlist_entry',
          label: 'Sign-up',
          plural: 'Sign-ups',
          fields: [
            { name: 'email', type: 'email', required: true, unique: true, maxLength: 254 },
            { name: 'name', type: 'text', maxLength: 80 },
          ],
          access: { ...adminOnly, create: 'public' },
          display: 'email',
          rules: { csvExport: true },
        }),
      );
    case 'contact-form':
      return done(
        b.add({
          name: 'message',
          label: 'Message',
          plural: 'Messages',
          fields: [
            { name: 'name', type: 'text', required: true, maxLength: 80 },
            { name: 'email', type: 'email', required: true, maxLength: 254 },
            { name: 'body', type: 'longText', required: true, maxLength: 5000, label: 'Message' },
          ],
          access: { ...adminOnly, create: 'public' },
          display: 'name',
          rules: { csvExport: true },
        }),
      );
    case 'directory': {
      if (/\b(timetable|schedule|calendar|classes|events)\b/.test(t)) return done(b.parent(t));
      const name = recordNoun(t, [DIRECTORY]) ?? 'listing';
      const label = title(name);
      return done(
        b.add({
          name,
          label,
          plural: pluralLabel(label),
          fields: [
            { name: 'name', type: 'text', required: true, maxLength: 120 },
            { name: 'description', type: 'longText', maxLength: 5000 },
            { name: 'category', type: 'text', maxLength: 80 },
            { name: 'website', type: 'text', maxLength: 300 },
          ],
          access: { list: 'public', read: 'public', create: 'admin', update: 'admin', delete: 'admin' },
          display: 'name',
        }),
      );
    }
    case 'owner-records': {
      const name = recordNoun(t);
      if (!name) return null;
      const label = title(name);
      const parentWord = t.split(/\s+(?:per|for each|for every)\s+/)[1];
      const parent = parentWord ? b.find(singular(parentWord.trim().split(/\s+/)[0] ?? '')) : undefined;
      const fields: AppField[] = [];
      if (parent && parent.name !== name) {
        fields.push({
          name: parent.name,
          type: 'reference',
          entity: parent.name,
          required: true,
          label: parent.label,
        });
      }
      fields.push(
        { name: 'owner', type: 'user' },
        { name: 'title', type: 'text', required: true, maxLength: 120 },
        { name: 'notes', type: 'longText', maxLength: 5000 },
      );
      return done(
        b.add({
          name,
          label,
          plural: pluralLabel(label),
          fields,
          access: { list: 'owner', read: 'owner', create: 'member', update: 'owner', delete: 'owner' },
          display: 'title',
        }),
      );
    }
  }
}

/** The order features are applied in: entities first, then what modifies them. */
const ORDER: Record<RecipeName, number> = {
  accounts: 0,
  'not-buildable': 0,
  booking: 1,
  'signup-capture': 1,
  'contact-form': 1,
  directory: 1,
  'owner-records': 2,
  'check-in': 3,
  'csv-export': 3,
};

/**
 * The app model for a spec: `specifications.app` when the spec carries one (validated; every key
 * feature it does not list is recorded as built by the model), otherwise the feature recipes
 * applied to the key features. Throws `ValidationError` when `specifications.app` is invalid.
 */
export function deriveAppModel(spec: ProductSpec): DerivedAppModel {
  const keyFeatures = (spec.specifications?.keyFeatures ?? []).slice(0, APP_MODEL_LIMITS.features);
  const declared = spec.specifications?.app;
  if (declared !== undefined) {
    const model = parseAppModel(declared, 'specifications.app');
    const listed = model.features ?? [];
    const names = new Set(listed.map((f) => f.feature));
    const features = [
      ...listed,
      ...keyFeatures
        .filter((f) => !names.has(f))
        .map(
          (feature): FeatureOutcome => ({
            feature,
            builtBy: 'model',
            entities: model.entities.map((e) => e.name),
          }),
        ),
    ].slice(0, APP_MODEL_LIMITS.features);
    return { model: { ...model, features }, features };
  }

  const builder = new ModelBuilder();
  const matched = keyFeatures.map((feature, index) => ({ feature, index, recipe: matchRecipe(feature) }));
  const outcomes = new Map<number, Outcome>();
  const ordered = [...matched].sort(
    (a, b) => (a.recipe ? ORDER[a.recipe] : 9) - (b.recipe ? ORDER[b.recipe] : 9) || a.index - b.index,
  );
  for (const { feature, index, recipe } of ordered) {
    outcomes.set(index, recipe ? apply(recipe, feature, builder) : null);
  }
  const features = matched.map(({ feature, index }): FeatureOutcome => {
    const outcome = outcomes.get(index);
    return outcome
      ? { feature, builtBy: 'recipe', recipe: outcome.recipe, entities: outcome.entities }
      : { feature, builtBy: null };
  });
  const model = parseAppModel(
    {
      version: APP_MODEL_VERSION,
      app: { name: spec.product.name.slice(0, APP_MODEL_LIMITS.labelLength), tagline: spec.product.tagline },
      entities: builder.entities,
      features,
    },
    `app model derived from "${spec.product.name}"`,
  );
  return { model, features };
}
