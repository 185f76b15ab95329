import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { abortable, isConditionFailure, type StoreContext } from './context.js';
import type { Item } from './item.js';
import { JOBS_TABLE_SCHEMA } from './table.js';

const PK = JOBS_TABLE_SCHEMA.partitionKey;

/** The key of a job's record in the jobs table: `jobId` alone (FounderDash's schema). */
export const recordKey = (jobId: string) => ({ [PK]: jobId });

/**
 * One write to a record. The version rule, once for every record write: `version` goes up by
 * one, and must equal `expectedVersion` when one is given; a blind write (a lease write)
 * conditions on something else, and on the record having a version at all: a record FounderDash
 * wrote itself (no version yet) fails the condition, and the reader that stands in for ALL_OLD
 * adopts it.
 */
export interface RecordWrite {
  sets?: readonly string[];
  removes?: readonly string[];
  /** A further condition (`#status = :fromStatus`, the lease rules…). */
  condition?: string;
  names?: Record<string, string>;
  values?: Record<string, unknown>;
  expectedVersion?: number;
  /** Return the record as written (ALL_NEW). */
  returnNew?: boolean;
  /** Adopting a record FounderDash wrote: it has no `version` yet, and gets version 1. */
  adopting?: boolean;
}

export type RecordWriteResult = { ok: true; record: Item | undefined } | { ok: false; error: unknown };

/** Sends one conditional UpdateItem on the record; a failed condition comes back with the stored item (ALL_OLD). */
export async function writeRecord(
  ctx: StoreContext,
  operation: string,
  jobId: string,
  write: RecordWrite,
  signal?: AbortSignal,
): Promise<RecordWriteResult> {
  const sets = [...(write.sets ?? []), write.adopting ? '#version = :one' : '#version = #version + :one'];
  const update = `SET ${sets.join(', ')}${write.removes?.length ? ` REMOVE ${write.removes.join(', ')}` : ''}`;
  const conditions = [
    write.adopting
      ? 'attribute_exists(#pk) AND attribute_not_exists(#version)'
      : write.expectedVersion === undefined
        ? 'attribute_exists(#version)'
        : '#version = :expected',
    ...(write.condition ? [`(${write.condition})`] : []),
  ];
  const condition = conditions.join(' AND ');
  const expression = `${update} ${condition}`;
  // DynamoDB refuses names and values an expression does not use.
  const names = used(expression, { ...write.names, '#pk': PK, '#version': 'version' });
  const values = used(expression, {
    ...write.values,
    ':one': 1,
    ...(write.expectedVersion === undefined ? {} : { ':expected': write.expectedVersion }),
  });
  const table = ctx.tables.records;
  try {
    const { Attributes } = await ctx.send(
      operation,
      table,
      () =>
        ctx.client.send(
          new UpdateCommand({
            TableName: table,
            Key: recordKey(jobId),
            UpdateExpression: update,
            ConditionExpression: condition,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ...(write.returnNew ? { ReturnValues: 'ALL_NEW' as const } : {}),
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
          abortable(signal),
        ),
      signal,
    );
    return { ok: true, record: Attributes as Item | undefined };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    return { ok: false, error };
  }
}

function used<T>(expression: string, entries: Record<string, T>): Record<string, T> {
  return Object.fromEntries(
    Object.entries(entries).filter(([name]) => new RegExp(`${name}(?![A-Za-z0-9_])`).test(expression)),
  );
}
