/**
 * The parts of `app.model.json` the journeys read (the full schema and its validation are the
 * core's). Journeys are derived from the model, never from the generated app's own tests.
 */
export type AccessLevel = 'public' | 'member' | 'owner' | 'admin';

export interface JourneyField {
  name: string;
  type:
    | 'text'
    | 'longText'
    | 'number'
    | 'money'
    | 'datetime'
    | 'boolean'
    | 'email'
    | 'enum'
    | 'reference'
    | 'user';
  required?: boolean;
  unique?: boolean;
  maxLength?: number;
  minLength?: number;
  min?: number;
  max?: number;
  integer?: boolean;
  values?: string[];
  entity?: string;
  label?: string;
}

export interface JourneyEntity {
  name: string;
  label?: string;
  plural?: string;
  fields: JourneyField[];
  access: Record<'list' | 'read' | 'create' | 'update' | 'delete', AccessLevel>;
  display?: string;
  rules?: {
    capacity?: { parent: string; capacityField: string };
    onePerAccount?: { scope: string[] };
    checkIn?: boolean;
    csvExport?: boolean;
  };
}

export interface JourneyModel {
  version: 1;
  app: { name: string; tagline?: string };
  entities: JourneyEntity[];
}

/** Text that must come back as text: markup, quotes, a shell substitution and an SQL injection. */
export const HOSTILE_TEXT = `<b>bold</b> "q" '$(id)'); DROP TABLE x;--`;

export interface Journey {
  /** e.g. `home`, `sign-up`, `create:event`, `capacity:rsvp`, `access:rsvp`. */
  name: string;
  kind:
    | 'home'
    | 'owner'
    | 'sign-up'
    | 'sign-out'
    | 'sign-in'
    | 'create'
    | 'capacity'
    | 'check-in'
    | 'csv'
    | 'access';
  entity?: string;
}

/** The journeys a model calls for, in the order they run (later ones use what earlier ones made). */
export function deriveJourneys(model: JourneyModel): Journey[] {
  const out: Journey[] = [
    { name: 'home', kind: 'home' },
    { name: 'owner', kind: 'owner' },
    { name: 'sign-up', kind: 'sign-up' },
    { name: 'sign-out', kind: 'sign-out' },
    { name: 'sign-in', kind: 'sign-in' },
  ];
  for (const e of orderByReferences(model.entities)) {
    out.push({ name: `create:${e.name}`, kind: 'create', entity: e.name });
    if (e.rules?.capacity) out.push({ name: `capacity:${e.name}`, kind: 'capacity', entity: e.name });
    if (e.rules?.checkIn) out.push({ name: `check-in:${e.name}`, kind: 'check-in', entity: e.name });
    if (e.rules?.csvExport) out.push({ name: `csv:${e.name}`, kind: 'csv', entity: e.name });
  }
  for (const e of model.entities) {
    if (Object.values(e.access).some((level) => level !== 'public')) {
      out.push({ name: `access:${e.name}`, kind: 'access', entity: e.name });
    }
  }
  return out;
}

/** Parents before the entities that reference them. */
export function orderByReferences(entities: JourneyEntity[]): JourneyEntity[] {
  const byName = new Map(entities.map((e) => [e.name, e]));
  const done = new Set<string>();
  const out: JourneyEntity[] = [];
  const visit = (e: JourneyEntity, path: Set<string>) => {
    if (done.has(e.name) || path.has(e.name)) return;
    path.add(e.name);
    for (const f of e.fields) {
      const parent = f.type === 'reference' && f.entity ? byName.get(f.entity) : undefined;
      if (parent && parent !== e) visit(parent, path);
    }
    done.add(e.name);
    out.push(e);
  };
  for (const e of entities) visit(e, new Set());
  return out;
}

/** What a journey found: `failure` says what went wrong, in words a developer can act on. */
export interface JourneyResult {
  name: string;
  ok: boolean;
  failure?: string;
  durationMs: number;
}

export interface JourneyReport {
  /** `browser`: walked in Chromium; `http`: API-level journeys only (no browser available). */
  mode: 'browser' | 'http';
  results: JourneyResult[];
  ok: boolean;
}
