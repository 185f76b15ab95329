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
  required?: boolean | undefined;
  unique?: boolean | undefined;
  maxLength?: number | undefined;
  minLength?: number | undefined;
  min?: number | undefined;
  max?: number | undefined;
  integer?: boolean | undefined;
  values?: string[] | undefined;
  entity?: string | undefined;
  label?: string | undefined;
}

export interface JourneyEntity {
  name: string;
  label?: string | undefined;
  plural?: string | undefined;
  fields: JourneyField[];
  access: Record<'list' | 'read' | 'create' | 'update' | 'delete', AccessLevel>;
  display?: string | undefined;
  rules?:
    | {
        capacity?: { parent: string; capacityField: string } | undefined;
        onePerAccount?: { scope: string[] } | undefined;
        checkIn?: boolean | undefined;
        csvExport?: boolean | undefined;
      }
    | undefined;
}

export interface JourneyModel {
  version: 1;
  app: { name: string; tagline?: string | undefined };
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

// What a journey found and the whole report are the core's (they go on the job's record).
export type { JourneyReport, JourneyResult } from '@mvp-pipeline/core';
