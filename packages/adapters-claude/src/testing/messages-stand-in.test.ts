import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { billedTokens, costOf, DEFAULT_MODEL_PRICES } from '../pricing.js';
import { type MessagesStandIn, startMessagesStandIn } from './messages-stand-in.js';
import { endTurn, scripted } from './script.js';

const KEY = `sk-ant-api03-${'s'.repeat(48)}`;
let standIn: MessagesStandIn | undefined;
afterEach(async () => {
  await standIn?.close();
  standIn = undefined;
});

const big = 'x'.repeat(8_000); // 2 000 tokens at four characters each

describe('Messages API stand-in', () => {
  it('streams a reply as the API server-sent events, which the SDK reassembles', async () => {
    const reply = {
      kind: 'message' as const,
      content: [
        { type: 'thinking' as const, thinking: 'Plan the page.', signature: 'sig-9' },
        { type: 'text' as const, text: 'Writing it.' },
        { type: 'tool_use' as const, name: 'write_file', input: { path: 'a.txt', content: 'é "quoted"' } },
      ],
      stopReason: 'tool_use' as const,
      outputTokens: 42,
    };
    standIn = await startMessagesStandIn({ apiKey: KEY, script: () => reply });
    const body = {
      model: 'claude-sonnet-5-5',
      max_tokens: 2_048,
      thinking: { type: 'adaptive' as const },
      messages: [{ role: 'user' as const, content: 'hi' }],
    };
    const raw = await fetch(`${standIn.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, stream: true }),
    });
    expect(raw.headers.get('content-type')).toBe('text/event-stream');
    const events = [...(await raw.text()).matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
    expect(events[0]).toBe('message_start');
    expect(events.slice(-2)).toEqual(['message_delta', 'message_stop']);
    expect(events.filter((e) => e === 'content_block_start')).toHaveLength(3);
    expect(events.filter((e) => e === 'content_block_stop')).toHaveLength(3);

    const client = new Anthropic({ apiKey: KEY, baseURL: standIn.url, maxRetries: 0 });
    const message = await client.messages.stream(body).finalMessage();
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content).toMatchObject([
      { type: 'thinking', thinking: 'Plan the page.', signature: 'sig-9' },
      { type: 'text', text: 'Writing it.' },
      { type: 'tool_use', name: 'write_file', input: { path: 'a.txt', content: 'é "quoted"' } },
    ]);
    expect(message.usage.output_tokens).toBe(42);
    expect(message.usage.input_tokens).toBe(standIn.requests.at(-1)!.usage!.input_tokens);
  });

  it('bills cache writes, reads and plain input from the breakpoints it receives', async () => {
    standIn = await startMessagesStandIn({ apiKey: KEY, script: scripted([], () => endTurn('ok')) });
    const client = new Anthropic({ apiKey: KEY, baseURL: standIn.url, maxRetries: 0 });
    const system = [{ type: 'text' as const, text: big, cache_control: { type: 'ephemeral' as const } }];
    const first = await client.messages.create({
      model: 'claude-sonnet-5-5',
      max_tokens: 100,
      system,
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(first.usage.cache_creation_input_tokens).toBeGreaterThanOrEqual(2_000);
    expect(first.usage.cache_read_input_tokens).toBe(0);
    expect(first.usage.input_tokens).toBeGreaterThan(0);

    const second = await client.messages.create({
      model: 'claude-sonnet-5-5',
      max_tokens: 100,
      system,
      messages: [{ role: 'user', content: 'hello again' }],
    });
    expect(second.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens);
    expect(second.usage.cache_creation_input_tokens).toBe(0);

    // A different model is a different cache; a prefix under the minimum is not cached at all.
    const other = await client.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 100,
      system,
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(other.usage.cache_read_input_tokens).toBe(0);
    const small = await client.messages.create({
      model: 'claude-sonnet-5-5',
      max_tokens: 100,
      system: [{ type: 'text', text: 'short', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(small.usage.cache_creation_input_tokens).toBe(0);
  });

  it('accepts the key as x-api-key or Bearer and refuses anything else', async () => {
    standIn = await startMessagesStandIn({ apiKey: KEY, script: scripted([], () => endTurn('ok')) });
    const post = (headers: Record<string, string>) =>
      fetch(`${standIn!.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
      });
    expect((await post({ 'x-api-key': KEY })).status).toBe(200);
    expect((await post({ authorization: `Bearer ${KEY}` })).status).toBe(200);
    const refused = await post({ 'x-api-key': 'wrong' });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });

  it('rejects a tool_use left without its tool_result, as the API does', async () => {
    standIn = await startMessagesStandIn({ apiKey: KEY, script: scripted([], () => endTurn('ok')) });
    const client = new Anthropic({ apiKey: KEY, baseURL: standIn.url, maxRetries: 0 });
    await expect(
      client.messages.create({
        model: 'claude-sonnet-5-5',
        max_tokens: 100,
        messages: [
          { role: 'user', content: 'hi' },
          {
            role: 'assistant',
            content: [{ type: 'tool_use', id: 'toolu_1', name: 'list_files', input: {} }],
          },
          { role: 'user', content: 'go on' },
        ],
      }),
    ).rejects.toMatchObject({ status: 400 });
  });
});

/** The error a call ends with (through the SDK), or a failure when it succeeds. */
async function refusal(call: Promise<unknown>): Promise<{ status: number; type: string; message: string }> {
  const error = await call.then(
    () => {
      throw new Error('expected the API to refuse the request');
    },
    (e: unknown) => e as { status: number; error: { error: { type: string; message: string } } },
  );
  return { status: error.status, type: error.error.error.type, message: error.error.error.message };
}

describe('the rules of the API it holds a client to', () => {
  const user = (content: Anthropic.MessageParam['content']) => ({ role: 'user' as const, content });
  const assistant = (content: Anthropic.MessageParam['content']) => ({ role: 'assistant' as const, content });
  const toolUse = { type: 'tool_use' as const, id: 'toolu_1', name: 'list_files', input: {} };
  const toolResult = { type: 'tool_result' as const, tool_use_id: 'toolu_1', content: 'a.txt' };

  it('returns signed thinking blocks when thinking is on, and only then', async () => {
    standIn = await startMessagesStandIn({ apiKey: KEY, script: scripted([], () => endTurn('ok')) });
    const client = new Anthropic({ apiKey: KEY, baseURL: standIn.url, maxRetries: 0 });
    const thinking = { type: 'enabled' as const, budget_tokens: 1_024 };
    const on = await client.messages
      .stream({ model: 'm', max_tokens: 2_048, thinking, messages: [user('hi')] })
      .finalMessage();
    expect(on.content.map((b) => b.type)).toEqual(['thinking', 'text']);
    const block = on.content[0] as Anthropic.ThinkingBlock;
    expect(block.thinking).not.toBe('');
    expect(block.signature).toMatch(/^[A-Za-z0-9+/=]{40,}$/);
    const off = await client.messages.create({ model: 'm', max_tokens: 2_048, messages: [user('hi')] });
    expect(off.content.map((b) => b.type)).toEqual(['text']);

    // Sent back as it came, it is accepted; changed, it is not.
    const next = (content: Anthropic.ContentBlockParam[]) =>
      client.messages.create({
        model: 'm',
        max_tokens: 2_048,
        thinking,
        messages: [user('hi'), assistant(content), user('go on')],
      });
    await expect(next([block, { type: 'text', text: 'ok' }])).resolves.toMatchObject({ type: 'message' });
    expect(await refusal(next([{ ...block, thinking: `${block.thinking} (edited)` }]))).toEqual({
      status: 400,
      type: 'invalid_request_error',
      message: 'messages.1.content.0: Invalid `signature` in `thinking` block',
    });
  });

  it('refuses a thinking budget under 1024 or not below max_tokens, with the API messages', async () => {
    standIn = await startMessagesStandIn({ apiKey: KEY, script: scripted([], () => endTurn('ok')) });
    const client = new Anthropic({ apiKey: KEY, baseURL: standIn.url, maxRetries: 0 });
    const ask = (max_tokens: number, budget_tokens: number) =>
      client.messages.create({
        model: 'm',
        max_tokens,
        thinking: { type: 'enabled', budget_tokens },
        messages: [user('hi')],
      });
    expect(await refusal(ask(4_000, 1_023))).toEqual({
      status: 400,
      type: 'invalid_request_error',
      message: 'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024',
    });
    expect((await refusal(ask(4_000, 4_000))).message).toMatch(
      /^`max_tokens` must be greater than `thinking.budget_tokens`\. Please consult our documentation/,
    );
    await expect(ask(4_000, 3_999)).resolves.toMatchObject({ type: 'message' });
    expect(standIn.requests.filter((r) => r.usage)).toHaveLength(1);
  });

  it('wants the thinking block first in the assistant turn that called the last tools', async () => {
    standIn = await startMessagesStandIn({ apiKey: KEY, script: scripted([], () => endTurn('ok')) });
    const client = new Anthropic({ apiKey: KEY, baseURL: standIn.url, maxRetries: 0 });
    const { message } = await refusal(
      client.messages.create({
        model: 'm',
        max_tokens: 2_048,
        thinking: { type: 'enabled', budget_tokens: 1_024 },
        messages: [user('hi'), assistant([toolUse]), user([toolResult])],
      }),
    );
    expect(message).toMatch(
      /^messages\.1\.content\.0\.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`/,
    );
  });

  it('pairs every tool_use with a tool_result first in the next user message, and no result without its call', async () => {
    standIn = await startMessagesStandIn({ apiKey: KEY, script: scripted([], () => endTurn('ok')) });
    const client = new Anthropic({ apiKey: KEY, baseURL: standIn.url, maxRetries: 0 });
    const send = (messages: Anthropic.MessageParam[]) =>
      client.messages.create({ model: 'm', max_tokens: 100, messages });
    const note = { type: 'text' as const, text: 'and then?' };

    await expect(send([user('hi'), assistant([toolUse]), user([toolResult, note])])).resolves.toMatchObject({
      type: 'message',
    });
    expect(await refusal(send([user('hi'), assistant([toolUse]), user([note, toolResult])]))).toEqual({
      status: 400,
      type: 'invalid_request_error',
      message:
        'messages.2: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1. Each `tool_use` block must have a corresponding `tool_result` block in the next message.',
    });
    expect(
      await refusal(send([user('hi'), assistant([toolUse]), user('later'), user([toolResult])])),
    ).toMatchObject({
      status: 400,
      message: expect.stringMatching(/^messages\.2: `tool_use` ids were found without `tool_result`/),
    });
    expect(
      await refusal(
        send([user('hi'), assistant('no tools'), user([{ ...toolResult, tool_use_id: 'toolu_9' }])]),
      ),
    ).toEqual({
      status: 400,
      type: 'invalid_request_error',
      message:
        'messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_9. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.',
    });
    expect(await refusal(send([user([toolResult])]))).toMatchObject({
      message: expect.stringMatching(/^messages\.0\.content\.0: unexpected `tool_use_id`/),
    });
  });

  it('answers 529 overloaded_error on every Nth call and on listed calls, without spending the script', async () => {
    const seen: number[] = [];
    standIn = await startMessagesStandIn({
      apiKey: KEY,
      script: scripted([], ({ index }) => {
        seen.push(index);
        return endTurn(`reply ${index}`);
      }),
      overload: { every: 3, calls: [1], retryAfterSeconds: 2 },
    });
    const client = new Anthropic({ apiKey: KEY, baseURL: standIn.url, maxRetries: 0 });
    const outcomes: string[] = [];
    for (let call = 1; call <= 7; call++) {
      const result = await client.messages
        .create({ model: 'm', max_tokens: 100, messages: [user('hi')] })
        .then(
          (m) => (m.content[0] as Anthropic.TextBlock).text,
          (e: { status: number; error: { error: { type: string } }; headers: Headers }) =>
            `${e.status} ${e.error.error.type} retry-after ${e.headers.get('retry-after')}`,
        );
      outcomes.push(result);
    }
    expect(outcomes).toEqual([
      '529 overloaded_error retry-after 2',
      'reply 0',
      '529 overloaded_error retry-after 2',
      'reply 1',
      'reply 2',
      '529 overloaded_error retry-after 2',
      'reply 3',
    ]);
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(standIn.requests.map((r) => r.injected ?? '-')).toEqual([
      'overloaded',
      '-',
      'overloaded',
      '-',
      '-',
      'overloaded',
      '-',
    ]);
  });
});

describe('pricing', () => {
  it('prices every kind of token from the configured table', () => {
    const prices = DEFAULT_MODEL_PRICES['claude-sonnet-5-5']!;
    const tokens = billedTokens({
      input_tokens: 1_000_000,
      output_tokens: 1_000_000,
      cache_creation_input_tokens: 1_000_000,
      cache_read_input_tokens: 1_000_000,
    });
    expect(costOf(tokens, prices)).toBeCloseTo(2 + 10 + 2.5 + 0.1, 6);
    const oneHour = billedTokens({
      cache_creation_input_tokens: 1_000_000,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 1_000_000 },
    });
    expect(costOf(oneHour, prices)).toBeCloseTo(4, 6);
  });
  it('refuses manual thinking on models that take adaptive only, adaptive on older ones, and an unknown effort', async () => {
    standIn = await startMessagesStandIn({
      apiKey: KEY,
      script: () => ({ kind: 'message', content: [{ type: 'text', text: 'ok' }], stopReason: 'end_turn' }),
    });
    const client = new Anthropic({ apiKey: KEY, baseURL: standIn.url, maxRetries: 0 });
    const ask = (model: string, extra: Record<string, unknown>) =>
      client.messages
        .create({ model, max_tokens: 4_096, messages: [{ role: 'user', content: 'hi' }], ...extra } as never)
        .then(
          () => 'ok',
          (error: { status?: number; error?: { error?: { message?: string } } }) =>
            `${error.status}: ${error.error?.error?.message ?? ''}`,
        );
    const manual = { thinking: { type: 'enabled', budget_tokens: 1_024 } };
    const adaptive = { thinking: { type: 'adaptive' } };
    expect(await ask('claude-sonnet-5-5', manual)).toMatch(
      /^400: "thinking\.type\.enabled" is not supported for this model/,
    );
    expect(await ask('claude-opus-4-7', manual)).toMatch(/^400: /);
    expect(await ask('claude-sonnet-5-5', adaptive)).toBe('ok');
    expect(await ask('claude-haiku-4-5', manual)).toBe('ok');
    expect(await ask('claude-haiku-4-5', adaptive)).toMatch(
      /^400: "thinking\.type\.adaptive" is not supported/,
    );
    expect(await ask('claude-sonnet-4-6', manual)).toBe('ok');
    expect(await ask('claude-sonnet-4-6', adaptive)).toBe('ok');
    expect(await ask('claude-sonnet-5-5', { output_config: { effort: 'high' } })).toBe('ok');
    expect(await ask('claude-sonnet-5-5', { output_config: { effort: 'extreme' } })).toMatch(
      /^400: output_config\.effort/,
    );
  });
});
