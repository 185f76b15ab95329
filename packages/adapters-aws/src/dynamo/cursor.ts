import { ValidationError } from '@mvp-pipeline/core';
import { JOBS_TABLE_SCHEMA } from './table.js';

const { partitionKey: PK, userIndex } = JOBS_TABLE_SCHEMA;

/** A page cursor: the base64url of the page's last index key (table key and index keys). */
export function encodeCursor(indexKey: Record<string, unknown>): string {
  const keyOnly = [PK, userIndex.partitionKey, userIndex.sortKey].map((name) => indexKey[name]);
  return Buffer.from(JSON.stringify(keyOnly)).toString('base64url');
}

/** The index key in a cursor this store handed out for `userId`; anything else is refused. */
export function decodeCursor(cursor: string, userId: string): Record<string, unknown> {
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(parts) &&
      parts.length === 3 &&
      parts.every((p) => typeof p === 'string') &&
      parts[1] === userId
    ) {
      const [jobId, user, createdAt] = parts as string[];
      return { [PK]: jobId, [userIndex.partitionKey]: user, [userIndex.sortKey]: createdAt };
    }
  } catch {
    // reported below
  }
  throw new ValidationError('job list request', [
    { path: 'cursor', message: 'is not a cursor this store handed out for this user' },
  ]);
}
