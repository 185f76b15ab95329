/**
 * Over 400 lines: the schema and the cross-field checks are one contract, read together.
 *
 * The app model: the contract between the spec, the `app` template's `generate` command and the
 * journey check. It lives at the root of a generated repository as `app.model.json`.
 *
 * Every name in a model (entity, field, enum-free identifiers) becomes a SQL identifier, a route
 * segment and a TypeScript property, so names are validated here and nowhere else: a name matches
 * {@link NAME_PATTERN}, is not in {@link RESERVED_NAMES} and is unique in its scope. Labels, help
 * texts, taglines, enum values and feature names are display text: any characters but control
 * characters, bounded in length, and always shown as text and stored as data (parameterised),
 * never used as identifiers.
 *
 * @packageDocumentation
 */
import { z } from 'zod';
import { type FieldIssue, ValidationError } from '../errors.js';
import { formatPath, toFieldIssues } from './spec.js';

/** The version of the model's shape this module reads and writes. */
export const APP_MODEL_VERSION = 1;

/** What a model or an entity may hold at most. */
export const APP_MODEL_LIMITS = {
  entities: 20,
  fieldsPerEntity: 30,
  features: 40,
  nameLength: 40,
  labelLength: 120,
  helpLength: 500,
  taglineLength: 300,
  featureLength: 300,
  enumValues: 50,
  enumValueLength: 80,
  /** The largest `maxLength` a text-like field may declare. */
  textLength: 100_000,
} as const;

/** An entity or field name: a lower-case identifier, safe unquoted in SQL, URLs and TypeScript. */
export const NAME_PATTERN = /^[a-z][a-z0-9_]{0,39}$/;

/** Every PostgreSQL keyword marked "reserved" (including "requires AS") in PostgreSQL 17's Appendix C. */
export const POSTGRES_RESERVED_KEYWORDS: ReadonlySet<string> = new Set([
  'all',
  'analyse',
  'analyze',
  'and',
  'any',
  'array',
  'as',
  'asc',
  'asymmetric',
  'authorization',
  'between',
  'bigint',
  'binary',
  'bit',
  'boolean',
  'both',
  'case',
  'cast',
  'char',
  'character',
  'check',
  'coalesce',
  'collate',
  'collation',
  'column',
  'concurrently',
  'constraint',
  'create',
  'cross',
  'current_catalog',
  'current_date',
  'current_role',
  'current_schema',
  'current_time',
  'current_timestamp',
  'current_user',
  'dec',
  'decimal',
  'default',
  'deferrable',
  'desc',
  'distinct',
  'do',
  'else',
  'end',
  'except',
  'exists',
  'extract',
  'false',
  'fetch',
  'float',
  'for',
  'foreign',
  'freeze',
  'from',
  'full',
  'grant',
  'greatest',
  'group',
  'grouping',
  'having',
  'ilike',
  'in',
  'initially',
  'inner',
  'inout',
  'int',
  'integer',
  'intersect',
  'interval',
  'into',
  'is',
  'isnull',
  'join',
  'json',
  'json_array',
  'json_arrayagg',
  'json_exists',
  'json_object',
  'json_objectagg',
  'json_query',
  'json_scalar',
  'json_serialize',
  'json_table',
  'json_value',
  'lateral',
  'leading',
  'least',
  'left',
  'like',
  'limit',
  'localtime',
  'localtimestamp',
  'merge_action',
  'national',
  'natural',
  'nchar',
  'none',
  'normalize',
  'not',
  'notnull',
  'null',
  'nullif',
  'numeric',
  'offset',
  'on',
  'only',
  'or',
  'order',
  'out',
  'outer',
  'overlaps',
  'overlay',
  'placing',
  'position',
  'precision',
  'primary',
  'real',
  'references',
  'returning',
  'right',
  'row',
  'select',
  'session_user',
  'setof',
  'similar',
  'smallint',
  'some',
  'substring',
  'symmetric',
  'system_user',
  'table',
  'tablesample',
  'then',
  'time',
  'timestamp',
  'to',
  'trailing',
  'treat',
  'trim',
  'true',
  'union',
  'unique',
  'user',
  'using',
  'values',
  'varchar',
  'variadic',
  'verbose',
  'when',
  'where',
  'window',
  'with',
  'xmlattributes',
  'xmlconcat',
  'xmlelement',
  'xmlexists',
  'xmlforest',
  'xmlnamespaces',
  'xmlparse',
  'xmlpi',
  'xmlroot',
  'xmlserialize',
  'xmltable',
]);

/**
 * Names the generated app uses itself: its tables (accounts, sessions), the columns every row gets
 * (`id`, `created_at`, `updated_at`) or a rule adds (`status`, `checked_in_at`), its routes
 * (`admin`, `api`, `signup`, …) and the JavaScript object keys that would reach a prototype.
 */
export const APP_RESERVED_NAMES: ReadonlySet<string> = new Set([
  'user',
  'users',
  'session',
  'sessions',
  'account',
  'accounts',
  'owner_claim',
  'owner_claims',
  'migration',
  'migrations',
  'id',
  'created_at',
  'updated_at',
  'status',
  'checked_in_at',
  'admin',
  'api',
  'signup',
  'signin',
  'signout',
  'openapi',
  'static',
  'public',
  'new',
  'edit',
  '_next',
  '__proto__',
  'constructor',
  'prototype',
  'tostring',
  'valueof',
  'hasownproperty',
  'isprototypeof',
  'propertyisenumerable',
  'tolocalestring',
  'then',
]);

/** Is `name` refused as an entity or field name (an app name or a PostgreSQL reserved keyword)? */
export function isReservedName(name: string): boolean {
  const lower = name.toLowerCase();
  return APP_RESERVED_NAMES.has(lower) || POSTGRES_RESERVED_KEYWORDS.has(lower);
}

/** The field types a model may use. */
export const FIELD_TYPES = [
  'text',
  'longText',
  'number',
  'money',
  'datetime',
  'boolean',
  'email',
  'enum',
  'reference',
  'user',
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** Who may perform an operation, from the widest to the narrowest. */
export const ACCESS_LEVELS = ['public', 'member', 'owner', 'admin'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];
/** The operations access is declared for. */
export const OPERATIONS = ['list', 'read', 'create', 'update', 'delete'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** How a key feature came to be built. */
export const BUILT_BY = ['recipe', 'model', 'ai'] as const;

// Control characters other than tab, newline and carriage return have no place in display text.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const display = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !CONTROL.test(s), 'must not contain control characters');
const label = (max: number) => display(max).refine((s) => s.trim().length > 0, 'must not be empty');

const nameSchema = z
  .string()
  .regex(NAME_PATTERN, {
    error: 'must be a lower-case identifier: a letter, then letters, digits or _ (at most 40 characters)',
    abort: true,
  })
  .refine((s) => !isReservedName(s), { error: (issue) => `"${String(issue.input)}" is a reserved name` });

const count = z.number().int('must be a whole number').nonnegative('must not be negative');
const finite = z.number().refine(Number.isFinite, 'must be a finite number');

const base = {
  name: nameSchema,
  required: z.boolean().optional(),
  unique: z.boolean().optional(),
  label: label(APP_MODEL_LIMITS.labelLength).optional(),
  help: display(APP_MODEL_LIMITS.helpLength).optional(),
};
const textLike = {
  minLength: count.max(APP_MODEL_LIMITS.textLength).optional(),
  maxLength: count.min(1, 'must be at least 1').max(APP_MODEL_LIMITS.textLength).optional(),
};
const textDefault = display(APP_MODEL_LIMITS.textLength).optional();

const textField = z.strictObject({ ...base, type: z.literal('text'), ...textLike, default: textDefault });
const longTextField = z.strictObject({
  ...base,
  type: z.literal('longText'),
  ...textLike,
  default: textDefault,
});
const emailField = z.strictObject({ ...base, type: z.literal('email'), ...textLike, default: textDefault });
const numberField = z.strictObject({
  ...base,
  type: z.literal('number'),
  min: finite.optional(),
  max: finite.optional(),
  integer: z.boolean().optional(),
  default: finite.optional(),
});
const moneyField = z.strictObject({
  ...base,
  type: z.literal('money'),
  /** Bounds in integer cents. */
  min: z.number().int('must be whole cents').optional(),
  max: z.number().int('must be whole cents').optional(),
  default: z.number().int('must be whole cents').optional(),
});
const datetimeField = z.strictObject({
  ...base,
  type: z.literal('datetime'),
  default: z.iso.datetime('must be an ISO date-time').optional(),
});
const booleanField = z.strictObject({ ...base, type: z.literal('boolean'), default: z.boolean().optional() });
const enumField = z.strictObject({
  ...base,
  type: z.literal('enum'),
  values: z
    .array(label(APP_MODEL_LIMITS.enumValueLength))
    .min(1, 'must list at least one value')
    .max(APP_MODEL_LIMITS.enumValues, `must list at most ${APP_MODEL_LIMITS.enumValues} values`),
  default: display(APP_MODEL_LIMITS.enumValueLength).optional(),
});
const referenceField = z.strictObject({ ...base, type: z.literal('reference'), entity: nameSchema });
const userField = z.strictObject({ ...base, type: z.literal('user') });

const fieldSchema = z.discriminatedUnion(
  'type',
  [
    textField,
    longTextField,
    numberField,
    moneyField,
    datetimeField,
    booleanField,
    emailField,
    enumField,
    referenceField,
    userField,
  ],
  {
    error: (issue) => {
      const type = (issue.input as { type?: unknown } | undefined)?.type;
      const expected = `expected one of ${FIELD_TYPES.join(', ')}`;
      if (type === undefined) return `type is required; ${expected}`;
      return `unknown field type ${JSON.stringify(type)}; ${expected}`;
    },
  },
);

const accessLevel = z.enum(ACCESS_LEVELS, {
  error: (issue) =>
    `unknown access level ${JSON.stringify(issue.input)}; expected one of ${ACCESS_LEVELS.join(', ')}`,
});
const accessSchema = z.strictObject({
  list: accessLevel,
  read: accessLevel,
  create: accessLevel,
  update: accessLevel,
  delete: accessLevel,
});

const rulesSchema = z.strictObject({
  /**
   * `parent` names a `reference` field of this entity; `capacityField` a `number` field of the
   * entity it references. Rows beyond the parent's capacity are stored `waitlisted`.
   */
  capacity: z.strictObject({ parent: nameSchema, capacityField: nameSchema }).optional(),
  /** One row per account and per combination of the `scope` fields (fields of this entity). */
  onePerAccount: z
    .strictObject({ scope: z.array(nameSchema).max(5, 'must list at most 5 fields') })
    .optional(),
  /** A `checked_in_at` column the admin toggles. */
  checkIn: z.boolean().optional(),
  /** The admin table downloads as CSV. */
  csvExport: z.boolean().optional(),
});

const entitySchema = z.strictObject({
  name: nameSchema,
  label: label(APP_MODEL_LIMITS.labelLength),
  plural: label(APP_MODEL_LIMITS.labelLength),
  fields: z
    .array(fieldSchema)
    .min(1, 'must have at least one field')
    .max(APP_MODEL_LIMITS.fieldsPerEntity, `must have at most ${APP_MODEL_LIMITS.fieldsPerEntity} fields`),
  access: accessSchema,
  /** The field shown as the row's title in lists and selects (defaults to the first text field). */
  display: nameSchema.optional(),
  rules: rulesSchema.optional(),
});

const featureSchema = z.strictObject({
  feature: label(APP_MODEL_LIMITS.featureLength),
  builtBy: z.enum(BUILT_BY).nullable(),
  recipe: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be a recipe name')
    .optional(),
  entities: z.array(nameSchema).max(APP_MODEL_LIMITS.entities).optional(),
});

/** The shape alone; {@link parseAppModel} adds the checks across fields and entities. */
export const appModelShapeSchema = z.strictObject({
  version: z.literal(APP_MODEL_VERSION, { error: `must be ${APP_MODEL_VERSION}` }),
  app: z.strictObject({
    name: label(APP_MODEL_LIMITS.labelLength),
    tagline: display(APP_MODEL_LIMITS.taglineLength).optional(),
  }),
  entities: z
    .array(entitySchema)
    .max(APP_MODEL_LIMITS.entities, `must have at most ${APP_MODEL_LIMITS.entities} entities`),
  features: z
    .array(featureSchema)
    .max(APP_MODEL_LIMITS.features, `must list at most ${APP_MODEL_LIMITS.features} features`)
    .optional(),
});

/** A validated app model. */
export type AppModel = z.infer<typeof appModelShapeSchema>;
export type AppEntity = AppModel['entities'][number];
export type AppField = AppEntity['fields'][number];
export type AppAccess = AppEntity['access'];
export type AppRules = NonNullable<AppEntity['rules']>;
/** Per key feature of the spec, what built it; `builtBy: null` means nothing did. */
export type FeatureOutcome = NonNullable<AppModel['features']>[number];
export type ReferenceField = Extract<AppField, { type: 'reference' }>;
export type UserField = Extract<AppField, { type: 'user' }>;

/**
 * Validates an untrusted app model. Throws {@link ValidationError} naming every problem by its
 * path (`entities[1].fields[0].type: unknown field type "colour"; expected one of …`); the checks
 * across fields run only once the shape is sound.
 */
export function parseAppModel(input: unknown, subject = 'app model'): AppModel {
  const result = appModelShapeSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw new ValidationError(subject, shapeIssues(result.error.issues));
  const issues = crossCheck(result.data);
  if (issues.length > 0) throw new ValidationError(subject, issues);
  return result.data;
}

// The field-type union's own message names the unknown type; other issues read as the spec's do.
function shapeIssues(issues: readonly z.core.$ZodIssue[]): FieldIssue[] {
  return issues.map((issue) =>
    issue.code === 'invalid_union'
      ? { path: formatPath(issue.path), message: issue.message }
      : (toFieldIssues([issue])[0] as FieldIssue),
  );
}

function crossCheck(model: AppModel): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const at = (path: PropertyKey[], message: string) => issues.push({ path: formatPath(path), message });
  const byName = new Map<string, AppEntity>();
  const slugs = new Map<string, string>();

  model.entities.forEach((entity, e) => {
    if (byName.has(entity.name)) at(['entities', e, 'name'], `duplicate entity name "${entity.name}"`);
    else byName.set(entity.name, entity);
    const slug = pluralSlug(entity);
    const clash = slugs.get(slug);
    if (clash !== undefined && clash !== entity.name) {
      at(['entities', e, 'name'], `its route /${slug} is the same as entity "${clash}"'s`);
    } else if (isReservedName(slug.replaceAll('-', '_'))) {
      at(['entities', e, 'name'], `its route /${slug} is reserved`);
    } else slugs.set(slug, entity.name);
  });

  model.entities.forEach((entity, e) => {
    const path = ['entities', e];
    const fields = new Map<string, AppField>();
    let users = 0;
    entity.fields.forEach((field, f) => {
      const fp = [...path, 'fields', f];
      if (fields.has(field.name)) at([...fp, 'name'], `duplicate field name "${field.name}"`);
      else fields.set(field.name, field);
      checkField(field, fp, byName, at);
      if (field.type === 'user' && ++users === 2) {
        at([...fp, 'type'], 'an entity has at most one user field');
      }
    });
    const hasUser = users > 0;
    for (const op of OPERATIONS) {
      if (entity.access[op] === 'owner' && !hasUser) {
        at([...path, 'access', op], 'owner access needs a user field on the entity');
      }
    }
    if (entity.display !== undefined) {
      const shown = fields.get(entity.display);
      if (!shown) at([...path, 'display'], `no field named "${entity.display}"`);
      else if (shown.type === 'user') at([...path, 'display'], 'must not be the user field');
    }
    checkRules(entity, fields, hasUser, [...path, 'rules'], byName, at);
  });

  model.features?.forEach((feature, i) => {
    const fp = ['features', i];
    if (feature.builtBy === 'recipe' && feature.recipe === undefined) {
      at([...fp, 'recipe'], 'is required when builtBy is "recipe"');
    }
    if (feature.builtBy !== 'recipe' && feature.recipe !== undefined) {
      at([...fp, 'recipe'], 'is only allowed when builtBy is "recipe"');
    }
    if (feature.builtBy === null && feature.entities !== undefined && feature.entities.length > 0) {
      at([...fp, 'entities'], 'a feature nothing built has no entities');
    }
    feature.entities?.forEach((name, j) => {
      if (!byName.has(name)) at([...fp, 'entities', j], `no entity named "${name}"`);
    });
  });
  return issues;
}

type At = (path: PropertyKey[], message: string) => void;

function checkField(field: AppField, path: PropertyKey[], entities: Map<string, AppEntity>, at: At) {
  switch (field.type) {
    case 'text':
    case 'longText':
    case 'email': {
      const { minLength, maxLength } = field;
      if (minLength !== undefined && maxLength !== undefined && minLength > maxLength) {
        at([...path, 'minLength'], 'must not exceed maxLength');
      }
      if (field.default !== undefined) {
        if (maxLength !== undefined && field.default.length > maxLength) {
          at([...path, 'default'], 'is longer than maxLength');
        }
        if (field.type === 'email' && !z.email().safeParse(field.default).success) {
          at([...path, 'default'], 'must be an email address');
        }
      }
      break;
    }
    case 'number':
    case 'money': {
      const { min, max } = field;
      if (min !== undefined && max !== undefined && min > max) at([...path, 'min'], 'must not exceed max');
      const value = field.default;
      if (value !== undefined) {
        if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
          at([...path, 'default'], 'is outside min..max');
        }
        if (field.type === 'number' && field.integer && !Number.isInteger(value)) {
          at([...path, 'default'], 'must be a whole number');
        }
      }
      break;
    }
    case 'enum': {
      const seen = new Set<string>();
      field.values.forEach((value, v) => {
        if (seen.has(value)) at([...path, 'values', v], `duplicate value ${JSON.stringify(value)}`);
        seen.add(value);
      });
      if (field.default !== undefined && !seen.has(field.default)) {
        at([...path, 'default'], 'must be one of the values');
      }
      break;
    }
    case 'reference':
      if (!entities.has(field.entity)) at([...path, 'entity'], `no entity named "${field.entity}"`);
      break;
    case 'user':
      if (field.unique) at([...path, 'unique'], 'use rules.onePerAccount for one row per account');
      break;
  }
}

function checkRules(
  entity: AppEntity,
  fields: Map<string, AppField>,
  hasUser: boolean,
  path: PropertyKey[],
  entities: Map<string, AppEntity>,
  at: At,
) {
  const rules = entity.rules;
  if (!rules) return;
  if (rules.capacity) {
    const cp = [...path, 'capacity'];
    const parent = fields.get(rules.capacity.parent);
    if (!parent) at([...cp, 'parent'], `no field named "${rules.capacity.parent}"`);
    else if (parent.type !== 'reference') at([...cp, 'parent'], 'must name a reference field');
    else {
      const target = entities.get(parent.entity);
      const capacity = target?.fields.find((f) => f.name === rules.capacity?.capacityField);
      if (target && !capacity) {
        at(
          [...cp, 'capacityField'],
          `entity "${target.name}" has no field "${rules.capacity.capacityField}"`,
        );
      } else if (capacity && capacity.type !== 'number') {
        at([...cp, 'capacityField'], `must name a number field of "${parent.entity}"`);
      }
    }
  }
  if (rules.onePerAccount) {
    const op = [...path, 'onePerAccount'];
    if (!hasUser) at(op, 'needs a user field on the entity');
    const seen = new Set<string>();
    rules.onePerAccount.scope.forEach((name, s) => {
      const field = fields.get(name);
      if (!field) at([...op, 'scope', s], `no field named "${name}"`);
      else if (field.type === 'user') at([...op, 'scope', s], 'the user field is always in the scope');
      else if (seen.has(name)) at([...op, 'scope', s], `"${name}" is listed twice`);
      seen.add(name);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Derived helpers shared by the generator and the journeys.

/** English plural of a snake_case name's last word: `rsvp` → `rsvps`, `class_entry` → `class_entries`. */
export function pluralName(name: string): string {
  if (/[^aeiou]y$/.test(name)) return `${name.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(name)) return `${name}es`;
  return `${name}s`;
}

/**
 * The URL segment of an entity's pages and API: its plural name with `-` for `_`
 * (`class_session` → `class-sessions`: `/class-sessions`, `/api/class-sessions`,
 * `/admin/class-sessions.csv`). Derived from the validated name, never from the display plural.
 */
export function pluralSlug(entity: Pick<AppEntity, 'name'>): string {
  return pluralName(entity.name).replaceAll('_', '-');
}

/** The SQL table of an entity: its plural name (`rsvps`, `class_sessions`). */
export function tableName(entity: Pick<AppEntity, 'name'>): string {
  return pluralName(entity.name);
}

/** The entity named `name`, or undefined. */
export function findEntity(model: AppModel, name: string): AppEntity | undefined {
  return model.entities.find((e) => e.name === name);
}

/** The entity's `user` field (the account that created the row), if it has one. */
export function userFieldOf(entity: AppEntity): UserField | undefined {
  return entity.fields.find((f): f is UserField => f.type === 'user');
}

/** The entity's reference fields, in declaration order. */
export function referenceFieldsOf(entity: AppEntity): ReferenceField[] {
  return entity.fields.filter((f): f is ReferenceField => f.type === 'reference');
}

/** The fields a form asks for: every field except the `user` field, which the server sets. */
export function formFieldsOf(entity: AppEntity): AppField[] {
  return entity.fields.filter((f) => f.type !== 'user');
}

/** The field shown as a row's title: `display`, else the first text field, else the first field. */
export function displayFieldOf(entity: AppEntity): AppField {
  const named = entity.display ? entity.fields.find((f) => f.name === entity.display) : undefined;
  return (
    named ??
    entity.fields.find((f) => f.type === 'text') ??
    entity.fields.find((f) => f.type !== 'user') ??
    (entity.fields[0] as AppField)
  );
}

/** A child of `parent`: an entity with a reference field pointing at it, and that field. */
export interface ChildEntity {
  entity: AppEntity;
  field: ReferenceField;
}

/**
 * The entities that reference `parent`, each with its referencing field, in model order. The
 * parent's detail page shows the create form of each child whose `create` is `public` or `member`.
 */
export function childEntitiesOf(model: AppModel, parent: string): ChildEntity[] {
  const out: ChildEntity[] = [];
  for (const entity of model.entities) {
    for (const field of referenceFieldsOf(entity)) {
      if (field.entity === parent) out.push({ entity, field });
    }
  }
  return out;
}

/** The children of `parent` a visitor or member may create from its detail page. */
export function creatableChildrenOf(model: AppModel, parent: string): ChildEntity[] {
  return childEntitiesOf(model, parent).filter(
    ({ entity }) => entity.access.create === 'public' || entity.access.create === 'member',
  );
}

/**
 * The columns the generator adds to an entity's table beyond its fields: `id`, `created_at`,
 * `updated_at` always, `status` with a capacity rule, `checked_in_at` with check-in.
 */
export function systemColumnsOf(entity: AppEntity): string[] {
  const columns = ['id', 'created_at', 'updated_at'];
  if (entity.rules?.capacity) columns.push('status');
  if (entity.rules?.checkIn) columns.push('checked_in_at');
  return columns;
}

/** A field's label: its `label`, else its name with spaces for `_` and a capital first letter. */
export function fieldLabel(field: Pick<AppField, 'name' | 'label'>): string {
  if (field.label) return field.label;
  const words = field.name.replaceAll('_', ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The key features nothing built. */
export function unbuiltFeatures(model: AppModel): string[] {
  return (model.features ?? []).filter((f) => f.builtBy === null).map((f) => f.feature);
}
