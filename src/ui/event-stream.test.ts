/**
 * The live page's event stream over real HTTP on loopback: a snapshot on connect (the backlog),
 * only the missed events on reconnect with Last-Event-ID, a fresh snapshot when the id is from
 * another instance or too old, and the caps on clients and on a slow client's buffer.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, lastEventIdOf, type EventStreamOptions } from './event-stream.js';

interface ReceivedEvent {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
}

let server: Server | undefined;
let stream: EventStream | undefined;

afterEach(async () => {
  stream?.close();
  // keep-alive sockets of fetch would hold close() for seconds
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = stream = undefined;
});

async function serve(options: Partial<EventStreamOptions> = {}): Promise<{ url: string; stream: EventStream; snapshots: () => number }> {
  let snapshots = 0;
  stream = new EventStream({
    instance: 'inst1',
    backlog: 3,
    maxClients: 4,
    maxClientBuffer: 1 << 20,
    heartbeatMs: 0,
    snapshot: () => ({ type: 'snapshot', data: { n: ++snapshots } }),
    ...options,
  });
  const s = stream;
  server = createServer((req, res) => s.handle(req, res));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ui/events`, stream: s, snapshots: () => snapshots };
}

/** Reads events from an open stream until `count` arrived, then disconnects. */
async function readEvents(url: string, count: number, headers: Record<string, string> = {}): Promise<{ retry: string | undefined; events: ReceivedEvent[]; status: number }> {
  const ctl = new AbortController();
  const res = await fetch(url, { headers, signal: ctl.signal });
  if (res.status !== 200) return { retry: undefined, events: [], status: res.status };
  expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  const decoder = new TextDecoder();
  let text = '';
  const events: ReceivedEvent[] = [];
  let retry: string | undefined;
  const reader = res.body!.getReader();
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const fields = Object.fromEntries(block.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
      if (fields.retry !== undefined) retry = fields.retry;
      if (fields.event !== undefined) events.push({ id: fields.id as string, type: fields.event, data: JSON.parse(fields.data as string) });
    }
  }
  ctl.abort();
  return { retry, events, status: res.status };
}

describe('EventStream', () => {
  it('sends a snapshot first on connect, current to the newest event, then live events', async () => {
    const { url, stream } = await serve();
    stream.publish('alert', { a: 1 });
    const reading = readEvents(url, 2);
    // the client is registered once its snapshot is written; publish after that
    await waitFor(() => stream.clientCount === 1);
    stream.publish('alert', { a: 2 });
    const { retry, events } = await reading;
    expect(retry).toBe('2000');
    expect(events).toEqual([
      { id: 'inst1-1', type: 'snapshot', data: { n: 1 } },
      { id: 'inst1-2', type: 'alert', data: { a: 2 } },
    ]);
  });

  it('replays only the missed events to a client reconnecting with Last-Event-ID', async () => {
    const { url, stream, snapshots } = await serve();
    stream.publish('alert', { a: 1 });
    stream.publish('alert', { a: 2 });
    stream.publish('operations', { a: 3 });
    const { events } = await readEvents(url, 2, { 'Last-Event-ID': 'inst1-1' });
    expect(events).toEqual([
      { id: 'inst1-2', type: 'alert', data: { a: 2 } },
      { id: 'inst1-3', type: 'operations', data: { a: 3 } },
    ]);
    expect(snapshots()).toBe(0);
  });

  it('takes the id from the last_event_id query parameter when the header is absent', async () => {
    const { url, stream } = await serve();
    stream.publish('alert', { a: 1 });
    stream.publish('alert', { a: 2 });
    const { events } = await readEvents(`${url}?last_event_id=inst1-1`, 1);
    expect(events).toEqual([{ id: 'inst1-2', type: 'alert', data: { a: 2 } }]);
  });

  it('sends a fresh snapshot when the missed events are no longer kept', async () => {
    const { url, stream } = await serve({ backlog: 3 });
    for (let i = 1; i <= 5; i++) stream.publish('alert', { a: i });
    // kept: 3, 4, 5; the client saw 1 and missed 2
    const { events } = await readEvents(url, 1, { 'Last-Event-ID': 'inst1-1' });
    expect(events).toEqual([{ id: 'inst1-5', type: 'snapshot', data: { n: 1 } }]);
    // the client that saw 2 misses only kept events
    const caught = await readEvents(url, 3, { 'Last-Event-ID': 'inst1-2' });
    expect(caught.events.map((e) => e.id)).toEqual(['inst1-3', 'inst1-4', 'inst1-5']);
  });

  it('sends a fresh snapshot to a client whose id is from another instance (the sidecar restarted)', async () => {
    const { url, stream } = await serve({ instance: 'inst2' });
    stream.publish('alert', { a: 1 });
    const { events } = await readEvents(url, 1, { 'Last-Event-ID': 'inst1-40' });
    expect(events).toEqual([{ id: 'inst2-1', type: 'snapshot', data: { n: 1 } }]);
    // an id ahead of this instance, or not an id at all, gets a snapshot too
    for (const id of ['inst2-99', 'garbage', 'inst2-x']) expect((await readEvents(url, 1, { 'Last-Event-ID': id })).events[0]?.type).toBe('snapshot');
  });

  it('sends nothing but the retry line to a client that is up to date', () => {
    const s = new EventStream({ instance: 'i', backlog: 3, maxClients: 1, maxClientBuffer: 1024, heartbeatMs: 0, snapshot: () => ({ type: 'snapshot', data: {} }) });
    s.publish('alert', {});
    expect(s.missedSince('i-1')).toEqual([]);
    expect(s.missedSince('i-0')).toHaveLength(1);
    s.close();
  });

  it('answers 503 with Retry-After beyond max_clients, counted', async () => {
    const dropped: string[] = [];
    const { url, stream } = await serve({ maxClients: 1, onDropped: (r) => dropped.push(r) });
    const ctl = new AbortController();
    const first = await fetch(url, { signal: ctl.signal });
    expect(first.status).toBe(200);
    await waitFor(() => stream.clientCount === 1);
    const second = await fetch(url);
    expect(second.status).toBe(503);
    expect(second.headers.get('retry-after')).toBe('5');
    expect(dropped).toEqual(['clients']);
    ctl.abort();
    await waitFor(() => stream.clientCount === 0);
  });

  it('disconnects a client that does not read once its buffer passes max_client_buffer, counted', async () => {
    const dropped: string[] = [];
    const { url, stream } = await serve({ maxClientBuffer: 64 * 1024, onDropped: (r) => dropped.push(r) });
    const res = await fetch(url);
    await waitFor(() => stream.clientCount === 1);
    // never read: the socket buffers fill, then the stream's own buffer grows past the cap
    const big = 'x'.repeat(32 * 1024);
    for (let i = 0; i < 200 && stream.clientCount > 0; i++) {
      stream.publish('alert', { big });
      await new Promise((r) => setImmediate(r));
    }
    expect(stream.clientCount).toBe(0);
    expect(dropped).toEqual(['slow_client']);
    await res.body?.cancel().catch(() => {});
  });

  it('ends every stream on close and refuses new ones', async () => {
    const { url, stream } = await serve();
    const res = await fetch(url);
    await waitFor(() => stream.clientCount === 1);
    stream.close();
    expect(await res.text()).toContain('event: snapshot');
    expect((await fetch(url)).status).toBe(503);
  });
});

describe('lastEventIdOf', () => {
  it('prefers the header and falls back to the query parameter', () => {
    const req = (url: string, headers: Record<string, string> = {}) => ({ url, headers }) as unknown as Parameters<typeof lastEventIdOf>[0];
    expect(lastEventIdOf(req('/ui/events?last_event_id=a-1', { 'last-event-id': 'b-2' }))).toBe('b-2');
    expect(lastEventIdOf(req('/ui/events?last_event_id=a-1'))).toBe('a-1');
    expect(lastEventIdOf(req('/ui/events'))).toBeUndefined();
  });
});

/** Polls a condition on the event loop (no fixed sleep): the server side runs between polls. */
async function waitFor(condition: () => boolean, limit = 2_000): Promise<void> {
  for (let i = 0; i < limit && !condition(); i++) await new Promise((r) => setImmediate(r));
  expect(condition()).toBe(true);
}
