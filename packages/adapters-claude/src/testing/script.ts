import type { ScriptContext, StandInBlock, StandInReply, StandInScript } from './messages-stand-in.js';

/** A reply calling tools (stop_reason `tool_use`), optionally after a line of text. */
export function toolCalls(calls: { name: string; input: unknown }[], text?: string): StandInReply {
  const content: StandInBlock[] = text ? [{ type: 'text', text }] : [];
  for (const call of calls) content.push({ type: 'tool_use', name: call.name, input: call.input });
  return { kind: 'message', content, stopReason: 'tool_use' };
}

/** A closing reply (stop_reason `end_turn`). */
export function endTurn(text: string): StandInReply {
  return { kind: 'message', content: [{ type: 'text', text }], stopReason: 'end_turn' };
}

/** A reply cut off at max_tokens; a trailing tool call in it counts as cut off mid-input. */
export function cutOff(content: StandInBlock[]): StandInReply {
  return { kind: 'message', content, stopReason: 'max_tokens' };
}

/** A refusal with the API's stop_details. */
export function refusal(category: string | null, explanation: string | null): StandInReply {
  return {
    kind: 'message',
    content: [],
    stopReason: 'refusal',
    stopDetails: { type: 'refusal', category, explanation },
  };
}

/** 529 overloaded_error, with `retry-after` (seconds) when given. */
export function overloaded(retryAfterSeconds?: number): StandInReply {
  return {
    kind: 'error',
    status: 529,
    type: 'overloaded_error',
    message: 'Overloaded',
    ...(retryAfterSeconds === undefined ? {} : { headers: { 'retry-after': String(retryAfterSeconds) } }),
  };
}

/** 429 rate_limit_error with `retry-after` (seconds) and the rate-limit headers. */
export function rateLimited(retryAfterSeconds: number): StandInReply {
  return {
    kind: 'error',
    status: 429,
    type: 'rate_limit_error',
    message: 'Number of request tokens has exceeded your per-minute rate limit',
    headers: {
      'retry-after': String(retryAfterSeconds),
      'anthropic-ratelimit-input-tokens-limit': '30000',
      'anthropic-ratelimit-input-tokens-remaining': '0',
    },
  };
}

/** 429 for the organisation's monthly spend limit (`details.error_code` enforced_spend_limit_reached). */
export function spendLimit(): StandInReply {
  return {
    kind: 'error',
    status: 429,
    type: 'rate_limit_error',
    message:
      'You have reached your specified API usage limits. You will regain access on 2026-12-01 at 00:00 UTC.',
    details: { error_code: 'enforced_spend_limit_reached' },
    headers: { 'retry-after': '600000' },
  };
}

/** 400 invalid_request_error. */
export function badRequest(message: string): StandInReply {
  return { kind: 'error', status: 400, type: 'invalid_request_error', message };
}

/**
 * Plays `replies` in order (a function entry sees the request); after the last, `then` answers
 * every further request, or the stand-in answers 500 to show the script ran out.
 */
export function scripted(
  replies: (StandInReply | ((context: ScriptContext) => StandInReply))[],
  then?: (context: ScriptContext) => StandInReply,
): StandInScript {
  return (context) => {
    const next = replies[context.index];
    if (next) return typeof next === 'function' ? next(context) : next;
    if (then) return then(context);
    return {
      kind: 'error',
      status: 500,
      type: 'api_error',
      message: `script exhausted at request ${context.index}`,
    };
  };
}
