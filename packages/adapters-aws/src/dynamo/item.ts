/** A DynamoDB item as the document client reads and writes it. */
export type Item = Record<string, unknown>;

/**
 * DynamoDB's size of an item, as it bills writes: attribute names and values in bytes (a
 * number is about one byte per two digits, a map or list adds 3 bytes and 1 per element).
 */
export function itemSize(item: Item): number {
  return Object.entries(item).reduce(
    (sum, [name, value]) => sum + Buffer.byteLength(name) + valueSize(value),
    0,
  );
}

function valueSize(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') {
    const digits = String(Math.abs(value))
      .replace(/[.-]|e.*$/g, '')
      .replace(/^0+/, '');
    return 1 + Math.ceil(digits.length / 2);
  }
  if (value instanceof Uint8Array) return value.length;
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, v) => sum + 1 + valueSize(v), 0);
  return (
    3 +
    Object.entries(value as object).reduce(
      (sum: number, [name, v]) => sum + 1 + Buffer.byteLength(name) + valueSize(v),
      0,
    )
  );
}

/** Whether two attribute values are the same (values are JSON-like or bytes). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(Buffer.from(b));
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The value without `undefined` members (DynamoDB has no undefined). */
export function dropUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(dropUndefined) as T;
  if (value && typeof value === 'object' && !(value instanceof Uint8Array)) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, dropUndefined(v)]),
    ) as T;
  }
  return value;
}

type AttributeValue =
  | { S: string }
  | { N: string }
  | { B: Uint8Array }
  | { BOOL: boolean }
  | { NULL: true }
  | { L: AttributeValue[] }
  | { M: Record<string, AttributeValue> }
  | { SS: string[] }
  | { NS: string[] };

/**
 * Reads a raw (wire-typed) item, as it rides on a ConditionalCheckFailedException: the
 * document client does not unmarshall those.
 */
export function unmarshallItem(raw: Record<string, unknown>): Item {
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, unmarshallValue(v as AttributeValue)]));
}

function unmarshallValue(value: AttributeValue): unknown {
  if ('S' in value) return value.S;
  if ('N' in value) return Number(value.N);
  if ('B' in value) return value.B;
  if ('BOOL' in value) return value.BOOL;
  if ('NULL' in value) return null;
  if ('L' in value) return value.L.map(unmarshallValue);
  if ('M' in value) return unmarshallItem(value.M);
  if ('SS' in value) return new Set(value.SS);
  if ('NS' in value) return new Set(value.NS.map(Number));
  return undefined;
}
