import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A content block as it travels in a request. */
export interface WireBlock {
  type: string;
  cache_control?: { type: string; ttl?: string } | null;
  [field: string]: unknown;
}

/** A request body as the client sent it (only what the stand-in looks at is typed). */
export interface WireBody {
  model?: unknown;
  max_tokens?: unknown;
  system?: string | WireBlock[];
  tools?: WireBlock[];
  messages?: { role: string; content: string | WireBlock[] }[];
  cache_control?: { type: string; ttl?: string } | null;
  [field: string]: unknown;
}

/** A request the stand-in received, as sent. */
export interface RecordedRequest {
  headers: Record<string, string | string[] | undefined>;
  /** The raw body text (grep it for secrets). */
  raw: string;
  body: WireBody;
  /** The usage the stand-in billed for it (absent for error replies). */
  usage?: StandInUsage;
  /** Set when the stand-in answered 529 on its own (`overload`), without asking the script. */
  injected?: 'overloaded';
}

export interface StandInUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
}

/** A content block of a scripted reply. */
export type StandInBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; name: string; input: unknown; id?: string }
  | { type: 'thinking'; thinking: string; signature?: string };

/** What the stand-in answers to one request. */
export type StandInReply =
  | {
      kind: 'message';
      content: StandInBlock[];
      stopReason: 'end_turn' | 'tool_use' | 'max_tokens' | 'pause_turn' | 'refusal' | 'stop_sequence';
      stopDetails?: { type: 'refusal'; category: string | null; explanation: string | null };
      /** Billed output tokens; default the content's characters / 4. */
      outputTokens?: number;
    }
  | {
      kind: 'error';
      status: number;
      type: string;
      message: string;
      details?: Record<string, unknown>;
      headers?: Record<string, string>;
    }
  /** Never answers (until the client gives up or the stand-in closes). */
  | { kind: 'hang' };

/** What a script sees of a request: the parsed body and its position in the conversation. */
export interface ScriptContext {
  body: WireBody;
  /** 0-based number of this request (error replies included). */
  index: number;
  /** The tool results of the last user message, in order. */
  toolResults: { tool_use_id: string; content: string; is_error: boolean }[];
}

export type StandInScript = (context: ScriptContext) => StandInReply;

/**
 * 529 `overloaded_error` answered by the stand-in itself, deterministically: on every `every`-th
 * call and on the calls listed in `calls` (1-based numbers of the valid requests it received).
 * Such a call does not reach the script, so a scripted session plays the same with or without them.
 */
export interface OverloadOptions {
  every?: number;
  calls?: readonly number[];
  /** Sent as `retry-after` (seconds) when given. */
  retryAfterSeconds?: number;
}

export interface MessagesStandInOptions {
  /** The key the client must send (as `x-api-key` or `Authorization: Bearer`). */
  apiKey: string;
  script: StandInScript;
  /** A breakpoint prefix shorter than this is not cached, as the API does. Default 1024. */
  minCacheableTokens?: number;
  /** Injected 529s; none by default. */
  overload?: OverloadOptions;
}

export interface MessagesStandIn {
  /** The base URL to give the SDK (`baseURL`). */
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Tokens as the stand-in counts them: characters / 4, rounded up. */
export function approxTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/**
 * A local stand-in for `POST /v1/messages` that answers from a script and bills usage the way
 * the API does from the cache_control breakpoints it receives: the longest breakpoint prefix seen
 * before is read from the cache, the prefix up to the last breakpoint beyond it is written to the
 * cache, and the rest is plain input. Errors follow the API's shape
 * (`{type:'error', error:{type,message,details?}, request_id}`), with `retry-after` headers as given.
 *
 * It holds the client to the API's documented rules, with the API's messages: tool_use answered
 * by tool_result blocks (first) in the very next user message and no tool_result without its
 * tool_use; manual thinking refused by the models that take adaptive thinking only (Claude 4.7
 * and later) and adaptive by those before it (4.5 and earlier); `output_config.effort` one of
 * the documented levels; `thinking.budget_tokens` of at least 1024 and below `max_tokens`; thinking blocks
 * (signed) in every reply when thinking is enabled, sent back unchanged, and a final assistant
 * message with tool use starting with one. It answers 529 when `overload` says so.
 */
export async function startMessagesStandIn(options: MessagesStandInOptions): Promise<MessagesStandIn> {
  const requests: RecordedRequest[] = [];
  const cache = new Set<string>();
  const minCacheable = options.minCacheableTokens ?? 1024;
  const hanging = new Set<ServerResponse>();
  // Signatures of the thinking blocks handed out, by thinking text: one sent back must match.
  const signing = randomBytes(16);
  const signed = new Map<string, Set<string>>();
  const sign = (thinking: string, given?: string) => {
    const signature = given ?? createHmac('sha256', signing).update(thinking).digest('base64');
    signed.set(thinking, (signed.get(thinking) ?? new Set()).add(signature));
    return signature;
  };
  const isSigned = (thinking: unknown, signature: unknown) =>
    typeof thinking === 'string' &&
    typeof signature === 'string' &&
    Boolean(signed.get(thinking)?.has(signature));
  let index = 0;
  let calls = 0;

  const server = createServer(async (req, res) => {
    const raw = await readBody(req);
    const requestId = `req_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
    res.setHeader('request-id', requestId);
    const fail = (status: number, type: string, message: string, extra: Record<string, unknown> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type, message, ...extra }, request_id: requestId }));
    };
    if (req.method !== 'POST' || req.url?.split('?')[0] !== '/v1/messages') {
      return fail(404, 'not_found_error', `Not found: ${req.method} ${req.url}`);
    }
    const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    if (req.headers['x-api-key'] !== options.apiKey && bearer !== options.apiKey) {
      return fail(401, 'authentication_error', 'invalid x-api-key');
    }
    let body: WireBody;
    try {
      body = JSON.parse(raw);
    } catch {
      return fail(400, 'invalid_request_error', 'The request body is not valid JSON');
    }
    const recorded: RecordedRequest = { headers: req.headers, raw, body };
    requests.push(recorded);
    const problem = validate(body, isSigned);
    if (problem) return fail(400, 'invalid_request_error', problem);
    calls++;
    const overload = options.overload;
    if (overload && ((overload.every && calls % overload.every === 0) || overload.calls?.includes(calls))) {
      recorded.injected = 'overloaded';
      if (overload.retryAfterSeconds !== undefined)
        res.setHeader('retry-after', String(overload.retryAfterSeconds));
      return fail(529, 'overloaded_error', 'Overloaded');
    }

    const reply = options.script({ body, index: index++, toolResults: lastToolResults(body) });
    if (reply.kind === 'hang') {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    if (reply.kind === 'error') {
      res.writeHead(reply.status, { 'content-type': 'application/json', ...(reply.headers ?? {}) });
      res.end(
        JSON.stringify({
          type: 'error',
          error: {
            type: reply.type,
            message: reply.message,
            ...(reply.details ? { details: reply.details } : {}),
          },
          request_id: requestId,
        }),
      );
      return;
    }
    const thinking = thinkingOn(body);
    const scriptedThinking = reply.content.some((b) => b.type === 'thinking');
    if (scriptedThinking && !thinking) {
      // The API returns thinking only when asked: a script that says otherwise is wrong.
      return fail(
        500,
        'api_error',
        `script error at request ${index - 1}: thinking blocks in a reply to a request without thinking enabled`,
      );
    }
    const blocks: StandInBlock[] =
      thinking && !scriptedThinking
        ? [
            { type: 'thinking', thinking: `Considering request ${index - 1} before answering.` },
            ...reply.content,
          ]
        : reply.content;
    const content = blocks.map((block, i) =>
      block.type === 'tool_use'
        ? { type: 'tool_use', id: block.id ?? `toolu_${index}_${i}`, name: block.name, input: block.input }
        : block.type === 'thinking'
          ? { type: 'thinking', thinking: block.thinking, signature: sign(block.thinking, block.signature) }
          : { type: 'text', text: block.text, citations: null },
    );
    const usage = {
      ...bill(body, cache, minCacheable),
      output_tokens: reply.outputTokens ?? Math.max(1, approxTokens(JSON.stringify(content))),
    };
    recorded.usage = usage;
    const id = `msg_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
    if (body.stream === true)
      return streamMessage(res, { id, model: String(body.model), content, reply, usage });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id,
        type: 'message',
        role: 'assistant',
        model: body.model,
        content,
        stop_reason: reply.stopReason,
        stop_sequence: null,
        stop_details: reply.stopDetails ?? null,
        container: null,
        usage: { ...usage, service_tier: 'standard', server_tool_use: null, inference_geo: null },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Sends a reply as the API's server-sent events: message_start (input and cache usage,
 * output_tokens 1), each block as content_block_start / _delta / _stop (text_delta,
 * input_json_delta in two pieces, thinking_delta + signature_delta), then message_delta (stop
 * reason and the whole message's usage) and message_stop.
 */
function streamMessage(
  res: ServerResponse,
  message: {
    id: string;
    model: string;
    content: Record<string, unknown>[];
    reply: Extract<StandInReply, { kind: 'message' }>;
    usage: StandInUsage;
  },
): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const send = (event: string, data: Record<string, unknown>) =>
    res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
  const { output_tokens, ...input } = message.usage;
  send('message_start', {
    message: {
      id: message.id,
      type: 'message',
      role: 'assistant',
      model: message.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      stop_details: null,
      container: null,
      usage: {
        ...input,
        output_tokens: 1,
        service_tier: 'standard',
        server_tool_use: null,
        inference_geo: null,
      },
    },
  });
  for (const [index, block] of message.content.entries()) {
    if (block['type'] === 'tool_use') {
      send('content_block_start', { index, content_block: { ...block, input: {} } });
      const json = JSON.stringify(block['input'] ?? {});
      const half = Math.floor(json.length / 2);
      for (const partial_json of [json.slice(0, half), json.slice(half)]) {
        send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json } });
      }
    } else if (block['type'] === 'thinking') {
      send('content_block_start', {
        index,
        content_block: { type: 'thinking', thinking: '', signature: '' },
      });
      send('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: block['thinking'] } });
      send('content_block_delta', {
        index,
        delta: { type: 'signature_delta', signature: block['signature'] },
      });
    } else {
      send('content_block_start', { index, content_block: { type: 'text', text: '', citations: null } });
      send('content_block_delta', { index, delta: { type: 'text_delta', text: block['text'] } });
    }
    send('content_block_stop', { index });
  }
  send('message_delta', {
    delta: {
      stop_reason: message.reply.stopReason,
      stop_sequence: null,
      stop_details: message.reply.stopDetails ?? null,
      container: null,
    },
    usage: { ...input, output_tokens },
  });
  send('message_stop', {});
  res.end();
}

const THINKING_DOCS = 'https://docs.claude.com/en/docs/build-with-claude/extended-thinking';

/** The request's thinking budget when it enables manual (extended) thinking. */
function thinkingOf(body: WireBody): number | undefined {
  const thinking = body.thinking as { type?: unknown; budget_tokens?: unknown } | undefined;
  return thinking?.type === 'enabled' ? Number(thinking.budget_tokens) : undefined;
}

/** Whether the request turns thinking on, manual or adaptive. */
function thinkingOn(body: WireBody): boolean {
  const type = (body.thinking as { type?: unknown } | undefined)?.type;
  return type === 'enabled' || type === 'adaptive';
}

// Per Anthropic's extended-thinking page: Claude 4.7 and later take adaptive thinking only (manual
// is a 400); Claude 4.5 and earlier take manual only. Claude 4.6 and Mythos take both.
const ADAPTIVE_ONLY = /^claude-(opus|sonnet|haiku)-(4-[7-9]|[5-9])(-|$)/;
const MANUAL_ONLY = /^claude-(3|(opus|sonnet|haiku)-(3|4-[0-5]|4)(-\d{8})?$)/;
const EFFORTS = ['low', 'medium', 'high', 'xhigh', 'max'];

const blocksOf = (message: { content: string | WireBlock[] }): WireBlock[] =>
  Array.isArray(message.content) ? message.content : [];

/** The first rule of the API's a request breaks, in the API's words; undefined when it breaks none. */
function validate(
  body: WireBody,
  isSigned: (thinking: unknown, signature: unknown) => boolean,
): string | undefined {
  if (typeof body?.model !== 'string' || !body.model) return 'model: Field required';
  if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens) || body.max_tokens < 1)
    return 'max_tokens: must be a positive integer';
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    return 'messages: at least one message is required';
  if (body.messages[0]?.role !== 'user') return 'messages: the first message must use the "user" role';
  const breakpoints = segments(body).filter((s) => s.breakpoint).length;
  if (breakpoints > 4)
    return `A maximum of 4 blocks with cache_control may be provided. Found ${breakpoints}.`;
  const budget = thinkingOf(body);
  if (budget !== undefined && ADAPTIVE_ONLY.test(body.model)) {
    return '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.';
  }
  if (
    (body.thinking as { type?: unknown } | undefined)?.type === 'adaptive' &&
    MANUAL_ONLY.test(body.model)
  ) {
    return '"thinking.type.adaptive" is not supported for this model. Use "thinking.type.enabled" with "budget_tokens".';
  }
  const effort = (body['output_config'] as { effort?: unknown } | undefined)?.effort;
  if (effort !== undefined && effort !== null && !EFFORTS.includes(String(effort))) {
    return `output_config.effort: Input should be ${EFFORTS.map((e) => `'${e}'`).join(', ')}`;
  }
  if (budget !== undefined) {
    if (!Number.isInteger(budget) || budget < 1024)
      return 'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024';
    if (budget >= body.max_tokens)
      return `\`max_tokens\` must be greater than \`thinking.budget_tokens\`. Please consult our documentation at ${THINKING_DOCS}#max-tokens-and-context-window-size`;
  }
  const { messages } = body;
  for (const [i, message] of messages.entries()) {
    const blocks = blocksOf(message);
    if (message.role === 'assistant') {
      // Thinking blocks go back exactly as they came.
      for (const [j, block] of blocks.entries()) {
        if (block.type === 'thinking' && !isSigned(block['thinking'], block['signature']))
          return `messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block`;
      }
      // Every tool_use is answered by a tool_result in the very next user message, results first.
      const ids = blocks.filter((b) => b.type === 'tool_use').map((b) => String(b['id']));
      const next = messages[i + 1];
      if (ids.length === 0 || !next) continue;
      const nextBlocks = next.role === 'user' ? blocksOf(next) : [];
      const other = nextBlocks.findIndex((b) => b.type !== 'tool_result');
      const leading = other < 0 ? nextBlocks : nextBlocks.slice(0, other);
      const answered = new Set(leading.map((b) => String(b['tool_use_id'])));
      const missing = ids.filter((id) => !answered.has(id));
      if (missing.length > 0) {
        return `messages.${i + 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`;
      }
    } else {
      // A tool_result answers a tool_use of the message just before it.
      const previous = messages[i - 1];
      const asked = new Set(
        (previous?.role === 'assistant' ? blocksOf(previous) : [])
          .filter((b) => b.type === 'tool_use')
          .map((b) => String(b['id'])),
      );
      for (const [j, block] of blocks.entries()) {
        if (block.type !== 'tool_result' || asked.has(String(block['tool_use_id']))) continue;
        return `messages.${i}.content.${j}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(block['tool_use_id'])}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
      }
    }
  }
  // With thinking on, the assistant turn that called the last tools must start with its thinking.
  if (budget !== undefined) {
    const last = messages.findLastIndex((m) => m.role === 'assistant');
    const blocks = last >= 0 ? blocksOf(messages[last]!) : [];
    const first = blocks[0];
    if (
      blocks.some((b) => b.type === 'tool_use') &&
      first &&
      first.type !== 'thinking' &&
      first.type !== 'redacted_thinking'
    ) {
      return `messages.${last}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${first.type}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block (preceeding the lastmost set of \`tool_use\` and \`tool_result\` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable \`thinking\`. Please consult our documentation at ${THINKING_DOCS}`;
    }
  }
  return undefined;
}

interface Segment {
  key: string;
  tokens: number;
  breakpoint: boolean;
  ttl: '5m' | '1h';
}

/** The prompt in the API's prefix order (tools, system, messages), one segment per block. */
function segments(body: WireBody): Segment[] {
  const out: Segment[] = [];
  const add = (where: string, block: string | WireBlock) => {
    const { cache_control, ...rest }: Partial<WireBlock> =
      typeof block === 'string' ? { text: block } : block;
    const text = JSON.stringify(rest);
    out.push({
      key: `${where}:${text}`,
      tokens: approxTokens(text),
      breakpoint: Boolean(cache_control),
      ttl: cache_control?.ttl === '1h' ? '1h' : '5m',
    });
  };
  for (const tool of body.tools ?? []) add('tool', tool);
  if (typeof body.system === 'string') add('system', body.system);
  else for (const block of body.system ?? []) add('system', block);
  for (const message of body.messages ?? []) {
    const blocks = typeof message.content === 'string' ? [message.content] : message.content;
    for (const block of blocks ?? []) add(message.role, block);
  }
  // Top-level cache_control: the API puts the breakpoint on the last cacheable block.
  if (body.cache_control && out.length > 0) {
    const last = out[out.length - 1]!;
    last.breakpoint = true;
    if (body.cache_control.ttl === '1h') last.ttl = '1h';
  }
  return out;
}
function bill(body: WireBody, cache: Set<string>, minCacheable: number): Omit<StandInUsage, 'output_tokens'> {
  const all = segments(body);
  const hash = createHash('sha256').update(String(body.model));
  let total = 0;
  const points: { id: string; tokens: number; ttl: '5m' | '1h' }[] = [];
  for (const segment of all) {
    hash.update(segment.key);
    total += segment.tokens;
    if (segment.breakpoint) points.push({ id: hash.copy().digest('hex'), tokens: total, ttl: segment.ttl });
  }
  const cacheable = points.filter((p) => p.tokens >= minCacheable);
  const read = Math.max(0, ...cacheable.filter((p) => cache.has(p.id)).map((p) => p.tokens));
  const beyond = cacheable.filter((p) => p.tokens > read);
  const last = beyond.at(-1);
  const written = last ? last.tokens - read : 0;
  // Tokens written between the read point and a 1h breakpoint are billed at the 1h rate.
  const oneHourEnd = Math.max(read, ...beyond.filter((p) => p.ttl === '1h').map((p) => p.tokens));
  for (const point of cacheable) cache.add(point.id);
  return {
    input_tokens: total - read - written,
    cache_creation_input_tokens: written,
    cache_read_input_tokens: read,
    cache_creation: {
      ephemeral_5m_input_tokens: written - (oneHourEnd - read),
      ephemeral_1h_input_tokens: oneHourEnd - read,
    },
  };
}
function lastToolResults(body: WireBody): ScriptContext['toolResults'] {
  const last = body.messages?.at(-1);
  if (last?.role !== 'user' || !Array.isArray(last.content)) return [];
  return last.content
    .filter((b) => b.type === 'tool_result')
    .map((b) => ({
      tool_use_id: String(b['tool_use_id']),
      content: typeof b['content'] === 'string' ? b['content'] : JSON.stringify(b['content'] ?? ''),
      is_error: b['is_error'] === true,
    }));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
