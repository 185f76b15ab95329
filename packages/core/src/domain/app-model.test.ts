import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.js';
import {
  APP_MODEL_LIMITS,
  type AppModel,
  childEntitiesOf,
  creatableChildrenOf,
  displayFieldOf,
  fieldLabel,
  formFieldsOf,
  isReservedName,
  parseAppModel,
  pluralSlug,
  systemColumnsOf,
  tableName,
  unbuiltFeatures,
  userFieldOf,
} from './app-model.js';

/** The brief's EventHub model, the shape every generator builds against. */
const eventHub = () => ({
  version: 1,
  app: { name: 'EventHub', tagline: 'Run your meetup' },
  entities: [
    {
      name: 'event',
      label: 'Event',
      plural: 'Events',
      fields: [
        { name: 'title', type: 'text', required: true, maxLength: 120 },
        { name: 'description', type: 'longText', maxLength: 5000 },
        { name: 'starts_at', type: 'datetime', required: true, label: 'Starts at' },
        { name: 'capacity', type: 'number', required: true, min: 1, max: 100000, integer: true },
        { name: 'price', type: 'money' },
        { name: 'published', type: 'boolean', default: false },
        { name: 'contact', type: 'email', unique: true },
        { name: 'category', type: 'enum', values: ['talk', 'workshop'] },
      ],
      access: { list: 'public', read: 'public', create: 'admin', update: 'admin', delete: 'admin' },
      display: 'title',
    },
    {
      name: 'rsvp',
      label: 'RSVP',
      plural: 'RSVPs',
      fields: [
        { name: 'event', type: 'reference', entity: 'event', required: true },
        { name: 'attendee', type: 'user' },
        { name: 'name', type: 'text', required: true, maxLength: 80 },
        { name: 'email', type: 'email', required: true },
      ],
      access: { list: 'admin', read: 'owner', create: 'member', update: 'admin', delete: 'owner' },
      rules: {
        capacity: { parent: 'event', capacityField: 'capacity' },
        onePerAccount: { scope: ['event'] },
        checkIn: true,
        csvExport: true,
      },
    },
  ],
  features: [
    { feature: 'RSVP with waitlist', builtBy: 'recipe', recipe: 'rsvp', entities: ['rsvp'] },
    { feature: 'Ticket payments', builtBy: null },
  ],
});

type Mutable = ReturnType<typeof eventHub> & Record<string, unknown>;
// biome-ignore lint/suspicious/noExplicitAny: tests build deliberately malformed models
const entity = (model: Mutable, i: number) => model.entities[i] as any;

function problems(input: unknown): string[] {
  try {
    parseAppModel(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected a validation error');
}

function mutated(change: (model: Mutable) => void): string[] {
  const model = eventHub() as Mutable;
  change(model);
  return problems(model);
}

describe('parseAppModel', () => {
  it('accepts the brief model and returns it typed', () => {
    const model: AppModel = parseAppModel(eventHub());
    expect(model.entities.map((e) => e.name)).toEqual(['event', 'rsvp']);
    expect(model.entities[1]?.rules?.capacity).toEqual({ parent: 'event', capacityField: 'capacity' });
  });

  it('names an unknown field type by its path and lists the known ones', () => {
    const out = mutated((m) => {
      entity(m, 1).fields[0] = { name: 'shade', type: 'colour' };
    });
    expect(out).toEqual([
      'entities[1].fields[0].type: unknown field type "colour"; expected one of text, longText, number, money, datetime, boolean, email, enum, reference, user',
    ]);
  });

  it('names a reference to a missing entity', () => {
    const out = mutated((m) => {
      entity(m, 1).fields[0].entity = 'venue';
    });
    expect(out).toContain('entities[1].fields[0].entity: no entity named "venue"');
  });

  it.each([
    ['user'],
    ['users'],
    ['session'],
    ['account'],
    ['id'],
    ['created_at'],
    ['owner_claim'],
    ['select'],
    ['table'],
    ['order'],
    ['constructor'],
    ['status'],
  ])('refuses the reserved entity name %s', (name) => {
    const out = mutated((m) => {
      entity(m, 0).name = name;
    });
    expect(out).toContain(`entities[0].name: "${name}" is a reserved name`);
  });

  it.each([
    ['__proto__'],
    ['first name'],
    ["o'brien"],
    ['"quoted"'],
    ['Title'],
    ['1st'],
    ['a'.repeat(41)],
    ['drop_table;--'],
    [''],
  ])('refuses the non-identifier field name %j', (name) => {
    const out = mutated((m) => {
      entity(m, 0).fields[1].name = name;
    });
    expect(out).toEqual([
      'entities[0].fields[1].name: must be a lower-case identifier: a letter, then letters, digits or _ (at most 40 characters)',
    ]);
  });

  it('refuses SQL keywords as field names too', () => {
    const out = mutated((m) => {
      entity(m, 0).fields[1].name = 'where';
      entity(m, 0).fields[2].name = 'user';
    });
    expect(out).toEqual([
      'entities[0].fields[1].name: "where" is a reserved name',
      'entities[0].fields[2].name: "user" is a reserved name',
    ]);
  });

  it('names duplicate entity, field and enum names', () => {
    const out = mutated((m) => {
      m.entities.push({ ...structuredClone(m.entities[0]), label: 'Again' } as never);
      entity(m, 0).fields[1].name = 'title';
      entity(m, 0).fields[7].values = ['talk', 'talk'];
    });
    expect(out).toEqual(
      expect.arrayContaining([
        'entities[2].name: duplicate entity name "event"',
        'entities[0].fields[1].name: duplicate field name "title"',
        'entities[0].fields[7].values[1]: duplicate value "talk"',
      ]),
    );
  });

  it('refuses an empty enum and empty enum values', () => {
    expect(
      mutated((m) => {
        entity(m, 0).fields[7].values = [];
      }),
    ).toEqual(['entities[0].fields[7].values: must list at least one value']);
    expect(
      mutated((m) => {
        entity(m, 0).fields[7].values = ['talk', ' '];
      }),
    ).toEqual(['entities[0].fields[7].values[1]: must not be empty']);
  });

  it('allows one user field an entity and needs one for owner access and onePerAccount', () => {
    expect(
      mutated((m) => {
        entity(m, 1).fields.push({ name: 'second', type: 'user' });
      }),
    ).toEqual(['entities[1].fields[4].type: an entity has at most one user field']);
    expect(
      mutated((m) => {
        entity(m, 1).fields.splice(1, 1);
      }),
    ).toEqual([
      'entities[1].access.read: owner access needs a user field on the entity',
      'entities[1].access.delete: owner access needs a user field on the entity',
      'entities[1].rules.onePerAccount: needs a user field on the entity',
    ]);
  });

  it('checks the rules name fields of the right types', () => {
    expect(
      mutated((m) => {
        entity(m, 1).rules.capacity = { parent: 'name', capacityField: 'capacity' };
        entity(m, 1).rules.onePerAccount = { scope: ['venue', 'attendee'] };
      }),
    ).toEqual([
      'entities[1].rules.capacity.parent: must name a reference field',
      'entities[1].rules.onePerAccount.scope[0]: no field named "venue"',
      'entities[1].rules.onePerAccount.scope[1]: the user field is always in the scope',
    ]);
    expect(
      mutated((m) => {
        entity(m, 1).rules.capacity = { parent: 'event', capacityField: 'title' };
      }),
    ).toEqual(['entities[1].rules.capacity.capacityField: must name a number field of "event"']);
    expect(
      mutated((m) => {
        entity(m, 1).rules.capacity = { parent: 'event', capacityField: 'seats' };
      }),
    ).toEqual(['entities[1].rules.capacity.capacityField: entity "event" has no field "seats"']);
    expect(
      mutated((m) => {
        entity(m, 1).rules.capacity = { parent: 'venue', capacityField: 'capacity' };
      }),
    ).toEqual(['entities[1].rules.capacity.parent: no field named "venue"']);
  });

  it('checks display, defaults, bounds and access levels', () => {
    expect(
      mutated((m) => {
        entity(m, 0).display = 'headline';
        entity(m, 0).fields[3].default = 0;
        entity(m, 0).fields[0].minLength = 200;
        entity(m, 0).fields[7].default = 'party';
        entity(m, 0).access.list = 'everyone';
      }),
    ).toEqual([
      'entities[0].access.list: unknown access level "everyone"; expected one of public, member, owner, admin',
    ]);
    expect(
      mutated((m) => {
        entity(m, 0).display = 'headline';
        entity(m, 0).fields[3].default = 0;
        entity(m, 0).fields[0].minLength = 200;
        entity(m, 0).fields[7].default = 'party';
      }),
    ).toEqual([
      'entities[0].fields[0].minLength: must not exceed maxLength',
      'entities[0].fields[3].default: is outside min..max',
      'entities[0].fields[7].default: must be one of the values',
      'entities[0].display: no field named "headline"',
    ]);
  });

  it('refuses unknown keys rather than ignoring them', () => {
    expect(
      mutated((m) => {
        entity(m, 0).fields[0].sql = 'DROP TABLE x';
      }),
    ).toEqual(['entities[0].fields[0]: Unrecognized key: "sql"']);
  });

  it('enforces the documented limits, each named', () => {
    const field = (i: number) => ({ name: `f${i}`, type: 'text' });
    const record = (i: number) => ({
      name: `thing${i}`,
      label: 'Thing',
      plural: 'Things',
      fields: [field(0)],
      access: { list: 'admin', read: 'admin', create: 'admin', update: 'admin', delete: 'admin' },
    });
    const base = { version: 1, app: { name: 'Big' } };
    expect(
      problems({
        ...base,
        entities: Array.from({ length: APP_MODEL_LIMITS.entities + 1 }, (_, i) => record(i)),
      }),
    ).toEqual(['entities: must have at most 20 entities']);
    expect(
      problems({
        ...base,
        entities: [{ ...record(0), fields: Array.from({ length: 31 }, (_, i) => field(i)) }],
      }),
    ).toEqual(['entities[0].fields: must have at most 30 fields']);
    expect(
      problems({
        ...base,
        entities: [],
        features: Array.from({ length: 41 }, (_, i) => ({ feature: `f${i}`, builtBy: null })),
      }),
    ).toEqual(['features: must list at most 40 features']);
    expect(problems({ ...base, app: { name: 'x'.repeat(121) }, entities: [] })).toEqual([
      'app.name: must be at most 120 characters',
    ]);
    expect(problems({ ...base, version: 2, entities: [] })).toEqual(['version: must be 1']);
  });

  it('keeps hostile display text as data', () => {
    const hostile = `<script>alert(1)</script> "quotes" $(rm -rf /) '); DROP TABLE x;--`;
    const model = eventHub();
    model.app.tagline = hostile;
    (model.entities[0] as { label: string }).label = hostile;
    (model.entities[0]?.fields[7] as { values: string[] }).values = [hostile, 'talk'];
    model.features[1] = { feature: hostile, builtBy: null };
    const parsed = parseAppModel(model);
    expect(parsed.app.tagline).toBe(hostile);
    expect(parsed.entities[0]?.label).toBe(hostile);
    expect(unbuiltFeatures(parsed)).toEqual([hostile]);
    expect(problems({ ...model, app: { name: 'bell\u0007' } })).toEqual([
      'app.name: must not contain control characters',
    ]);
  });

  it('checks feature outcomes against the entities', () => {
    expect(
      mutated((m) => {
        m.features = [
          { feature: 'A', builtBy: 'recipe', entities: ['rsvp'] },
          { feature: 'B', builtBy: 'model', entities: ['ghost'] },
        ] as never;
      }),
    ).toEqual([
      'features[0].recipe: is required when builtBy is "recipe"',
      'features[1].entities[0]: no entity named "ghost"',
    ]);
  });

  it('refuses two entities whose routes collide', () => {
    const model = eventHub();
    model.entities.push({ ...structuredClone(model.entities[0]), name: 'admin' } as never);
    expect(problems(model)).toContain('entities[2].name: "admin" is a reserved name');
  });
});

describe('derived helpers', () => {
  const model = parseAppModel(eventHub());
  const [event, rsvp] = model.entities as [AppModel['entities'][0], AppModel['entities'][0]];

  it('derives routes and tables from names, not display text', () => {
    expect(pluralSlug(event)).toBe('events');
    expect(pluralSlug({ name: 'class_session' })).toBe('class-sessions');
    expect(pluralSlug({ name: 'category' })).toBe('categories');
    expect(pluralSlug({ name: 'box' })).toBe('boxes');
    expect(tableName({ name: 'class_session' })).toBe('class_sessions');
  });

  it('finds children, the user field, form fields and system columns', () => {
    expect(childEntitiesOf(model, 'event').map((c) => `${c.entity.name}.${c.field.name}`)).toEqual([
      'rsvp.event',
    ]);
    expect(creatableChildrenOf(model, 'event')).toHaveLength(1);
    expect(childEntitiesOf(model, 'rsvp')).toEqual([]);
    expect(userFieldOf(rsvp)?.name).toBe('attendee');
    expect(userFieldOf(event)).toBeUndefined();
    expect(formFieldsOf(rsvp).map((f) => f.name)).toEqual(['event', 'name', 'email']);
    expect(systemColumnsOf(rsvp)).toEqual(['id', 'created_at', 'updated_at', 'status', 'checked_in_at']);
    expect(systemColumnsOf(event)).toEqual(['id', 'created_at', 'updated_at']);
    expect(displayFieldOf(event).name).toBe('title');
    expect(displayFieldOf(rsvp).name).toBe('name');
    expect(fieldLabel({ name: 'starts_at' })).toBe('Starts at');
    expect(isReservedName('SELECT')).toBe(true);
    expect(isReservedName('title')).toBe(false);
  });
});
