import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.js';
import { findEntity, parseAppModel, unbuiltFeatures } from './app-model.js';
import { deriveAppModel, matchRecipe } from './app-recipes.js';
import { type ProductSpec, parseProductSpec } from './spec.js';

const read = (url: URL) => parseProductSpec(JSON.parse(readFileSync(url, 'utf8')));
const example = (name: string) => read(new URL(`../../../../examples/${name}`, import.meta.url));
/** EventHub as FounderDash's seed wrote it: a static site, no accounts. */
const seedEventHub = () => {
  const raw = JSON.parse(
    readFileSync(new URL('../../../../examples/eventhub.json', import.meta.url), 'utf8'),
  );
  raw.specifications.technicalRequirements = { framework: 'static', auth: 'none for MVP' };
  return parseProductSpec(raw);
};
const withFeatures = (...keyFeatures: string[]): ProductSpec =>
  parseProductSpec({
    user: { id: 'u', email: 'u@example.com' },
    product: { id: 'p', name: 'P' },
    specifications: { keyFeatures },
  });
const outcome = (spec: ProductSpec) =>
  deriveAppModel(spec).features.map((f) => `${f.feature} → ${f.builtBy === 'recipe' ? f.recipe : f.builtBy}`);

describe('deriveAppModel on the examples', () => {
  it('builds EventHub: events with RSVPs, a capacity waitlist, check-in and CSV', () => {
    const { model, features } = deriveAppModel(example('eventhub.json'));
    expect(parseAppModel(model)).toEqual(model);
    expect(model.features).toEqual(features);
    expect(outcome(example('eventhub.json'))).toEqual([
      'Event page with RSVP → booking',
      'Waitlist when full → booking',
      'Door check-in on mobile → check-in',
      'CSV export of attendees → csv-export',
    ]);
    const rsvp = findEntity(model, 'rsvp');
    expect(rsvp?.rules).toEqual({
      capacity: { parent: 'event', capacityField: 'capacity' },
      onePerAccount: { scope: ['event'] },
      checkIn: true,
      csvExport: true,
    });
    expect(findEntity(model, 'event')?.access.list).toBe('public');
    expect(model.app).toEqual({ name: 'EventHub', tagline: 'Run your meetup without the spreadsheet' });
  });

  it('builds the yoga studio: a class timetable, bookings with a waitlist, check-in; the class pass is not built', () => {
    const { model } = deriveAppModel(example('yoga-studio.json'));
    expect(outcome(example('yoga-studio.json'))).toEqual([
      'Class timetable → directory',
      'Class booking with a capacity limit → booking',
      'Waitlist when a class is full → booking',
      'Email login → accounts',
      'Front-desk check-in → check-in',
      'Class pass with 10 credits → null',
    ]);
    expect(model.entities.map((e) => e.name)).toEqual(['class_session', 'booking']);
    expect(findEntity(model, 'booking')?.rules?.capacity).toEqual({
      parent: 'class_session',
      capacityField: 'capacity',
    });
    expect(findEntity(model, 'booking')?.rules?.checkIn).toBe(true);
    expect(unbuiltFeatures(model)).toEqual(['Class pass with 10 credits']);
  });

  it.each([['examples', example('greenleaf.json')]])(
    'builds GreenLeaf (%s): a public plant directory and care guides per plant; reminders are not built',
    (_, spec) => {
      const { model } = deriveAppModel(spec);
      expect(outcome(spec)).toEqual([
        'Plant catalogue → directory',
        'Watering reminders → null',
        'Care guide per plant → owner-records',
      ]);
      expect(findEntity(model, 'plant')?.access).toMatchObject({ list: 'public', create: 'admin' });
      const guide = findEntity(model, 'care_guide');
      expect(guide?.fields.find((f) => f.type === 'reference')).toMatchObject({
        name: 'plant',
        entity: 'plant',
      });
      expect(guide?.access).toEqual({
        list: 'owner',
        read: 'owner',
        create: 'member',
        update: 'owner',
        delete: 'owner',
      });
    },
  );

  it("gives the seed's EventHub the same model as the example", () => {
    expect(deriveAppModel(seedEventHub()).model.entities).toEqual(
      deriveAppModel(example('eventhub.json')).model.entities,
    );
  });

  it.each([['examples', example('minimal.json')]])(
    'builds an empty model for a spec without key features (%s)',
    (_, spec) => {
      expect(deriveAppModel(spec)).toEqual({
        model: { version: 1, app: { name: 'Solo' }, entities: [], features: [] },
        features: [],
      });
    },
  );

  it('takes specifications.app as it is, recording the key features it built', () => {
    const spec = example('tool-library.json');
    const { model, features } = deriveAppModel(spec);
    expect(model.entities.map((e) => e.name)).toEqual(['tool', 'borrow_request']);
    expect(features).toEqual([
      { feature: 'Tool catalogue', builtBy: 'model', entities: ['tool'] },
      { feature: 'Borrow requests', builtBy: 'model', entities: ['borrow_request'] },
      { feature: 'Lender approves requests', builtBy: null },
    ]);
  });

  it('marks the key features an explicit model does not list as built by the model', () => {
    const spec = example('tool-library.json');
    const app = spec.specifications?.app as { features?: unknown };
    delete app.features;
    expect(outcome(spec)).toEqual([
      'Tool catalogue → model',
      'Borrow requests → model',
      'Lender approves requests → model',
    ]);
  });

  it('names every problem of an invalid specifications.app', () => {
    const spec = example('tool-library.json');
    const app = spec.specifications?.app as unknown as { entities: { fields: object[] }[] };
    const entities = app.entities;
    (entities[1]?.fields[0] as { entity: string }).entity = 'hammer';
    (entities[0]?.fields[1] as { type: string }).type = 'colour';
    expect(() => deriveAppModel(spec)).toThrow(ValidationError);
    expect(() => deriveAppModel(spec)).toThrow(
      /specifications\.app: entities\[0\]\.fields\[1\]\.type: unknown field type "colour"/,
    );
  });
});

describe('the recipes', () => {
  it.each([
    ['Join the waitlist', 'signup-capture'],
    ['Early access sign-up form', 'signup-capture'],
    ['Newsletter subscribe', 'signup-capture'],
    ['RSVP to events', 'booking'],
    ['Book a table', 'booking'],
    ['Waitlist when full', 'booking'],
    ['Appointment booking with limited spots', 'booking'],
    ['Check-in at the door', 'check-in'],
    ['Attendance tracking', 'check-in'],
    ['Export sign-ups to CSV', 'csv-export'],
    ['Contact form', 'contact-form'],
    ['Customer feedback', 'contact-form'],
    ['Public directory of local makers', 'directory'],
    ['Job listings', 'directory'],
    ['Sign in with email', 'accounts'],
    ['Stripe payments', 'not-buildable'],
    ['Monthly membership billing', 'not-buildable'],
    ['SMS reminders', 'not-buildable'],
    ['Recipe collection', 'owner-records'],
    ['!!!', undefined],
  ])('matches %j to %s', (feature, recipe) => {
    expect(matchRecipe(feature)).toBe(recipe);
  });

  it('builds sign-up capture and contact forms: public create, admin-only reading, CSV', () => {
    const { model } = deriveAppModel(withFeatures('Join the waitlist', 'Contact form', 'Export to CSV'));
    expect(findEntity(model, 'waitlist_entry')).toMatchObject({
      access: { list: 'admin', read: 'admin', create: 'public', update: 'admin', delete: 'admin' },
      rules: { csvExport: true },
    });
    expect(findEntity(model, 'waitlist_entry')?.fields[0]).toMatchObject({
      name: 'email',
      type: 'email',
      unique: true,
    });
    expect(findEntity(model, 'message')?.access.create).toBe('public');
    expect(outcome(withFeatures('Join the waitlist', 'Contact form', 'Export to CSV'))[2]).toBe(
      'Export to CSV → csv-export',
    );
  });

  it('records a CSV export with nothing to export as not built', () => {
    expect(outcome(withFeatures('Export to CSV'))).toEqual(['Export to CSV → null']);
  });

  it('adds check-in to a booking the features did not otherwise name', () => {
    const { model } = deriveAppModel(withFeatures('Door check-in'));
    expect(model.entities.map((e) => e.name)).toEqual(['slot', 'booking']);
    expect(findEntity(model, 'booking')?.rules?.checkIn).toBe(true);
  });

  it('turns a named reserved word into a safe record name, and keeps hostile feature text as data', () => {
    const hostile = `Orders '); DROP TABLE x;-- <script>`;
    const { model, features } = deriveAppModel(withFeatures('Users', 'Select', hostile));
    expect(model.entities.map((e) => e.name)).toEqual(['user_item', 'select_item', 'x_script']);
    expect(features[2]?.feature).toBe(hostile);
    expect(parseAppModel(model)).toEqual(model);
  });

  it('stays within the limits for the largest spec allowed', () => {
    const many = Array.from(
      { length: 30 },
      (_, i) => `Widget ${String.fromCharCode(97 + (i % 26))}${i} records`,
    );
    const { model, features } = deriveAppModel(withFeatures(...many));
    expect(model.entities.length).toBeLessThanOrEqual(20);
    expect(features).toHaveLength(30);
    expect(features.filter((f) => f.builtBy === null).length).toBe(30 - model.entities.length);
  });
});
