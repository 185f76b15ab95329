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
      max_tokens: 100,
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
});
