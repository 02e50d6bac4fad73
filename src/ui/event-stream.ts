/**
 * Server-Sent Events for the live page (`GET /ui/events`, WHATWG HTML "Server-sent events").
 *
 * - Every event has the id `<instance>-<seq>`; the last `backlog` events are kept.
 * - A client connecting without an id gets a `snapshot` event (the whole state) first: the
 *   backlog on connect. A client reconnecting with `Last-Event-ID` (header, or `last_event_id`
 *   query parameter for a page that opens a new EventSource itself) gets only the events it
 *   missed when they are all still kept; otherwise, or when the id names another instance (the
 *   sidecar restarted), a fresh snapshot.
 * - Bounded: at most `maxClients` streams (more get 503); a client with more than
 *   `maxClientBuffer` bytes unsent is disconnected (it reconnects and catches up). Both counted.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface StreamMessage {
  readonly type: string;
  /** JSON-serializable payload */
  readonly data: unknown;
}

interface StoredEvent {
  readonly seq: number;
  /** the event as written on the wire */
  readonly text: string;
}

export interface EventStreamOptions {
  /** distinguishes this process's event ids from a previous one's */
  readonly instance: string;
  readonly backlog: number;
  readonly maxClients: number;
  readonly maxClientBuffer: number;
  /** the whole state, sent on connect and to clients that cannot be caught up */
  readonly snapshot: () => StreamMessage;
  /** reconnection delay suggested to EventSource, ms */
  readonly retryMs?: number;
  /** interval of keep-alive comments, ms; 0 = none */
  readonly heartbeatMs?: number;
  readonly onClients?: (count: number) => void;
  readonly onDropped?: (reason: 'clients' | 'slow_client') => void;
}

const encode = (id: string, type: string, data: unknown): string => `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`;

/** The id a client sent: the Last-Event-ID header, else the last_event_id query parameter. */
export function lastEventIdOf(req: IncomingMessage): string | undefined {
  const header = req.headers['last-event-id'];
  if (typeof header === 'string' && header !== '') return header;
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams.get('last_event_id');
  return query !== null && query !== '' ? query : undefined;
}

export class EventStream {
  private readonly events: StoredEvent[] = [];
  private readonly clients = new Set<ServerResponse>();
  private seq = 0;
  private closed = false;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly options: EventStreamOptions) {
    const every = options.heartbeatMs ?? 15_000;
    if (every > 0) {
      this.heartbeat = setInterval(() => this.writeAll(': keep-alive\n\n'), every);
      this.heartbeat.unref();
    }
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** the id of the newest event (what a snapshot taken now is current to) */
  get lastId(): string {
    return `${this.options.instance}-${this.seq}`;
  }

  /** Sends an event to every client and keeps it for reconnecting ones. */
  publish(type: string, data: unknown): void {
    if (this.closed) return;
    const seq = ++this.seq;
    const text = encode(`${this.options.instance}-${seq}`, type, data);
    this.events.push({ seq, text });
    if (this.events.length > this.options.backlog) this.events.shift();
    this.writeAll(text);
  }

  /** The events after `lastEventId`, or undefined when they cannot all be replayed (snapshot instead). */
  missedSince(lastEventId: string | undefined): string[] | undefined {
    if (lastEventId === undefined) return undefined;
    const dash = lastEventId.lastIndexOf('-');
    if (dash < 0 || lastEventId.slice(0, dash) !== this.options.instance) return undefined;
    const seq = Number(lastEventId.slice(dash + 1));
    if (!Number.isInteger(seq) || seq < 0 || seq > this.seq) return undefined;
    const oldest = this.events[0]?.seq ?? this.seq + 1;
    // every event after seq must still be kept
    if (seq + 1 < oldest) return undefined;
    return this.events.filter((e) => e.seq > seq).map((e) => e.text);
  }

  /** Answers GET /ui/events: the stream stays open until the client leaves or close(). */
  handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.closed || this.clients.size >= this.options.maxClients) {
      if (!this.closed) this.options.onDropped?.('clients');
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '5', 'Cache-Control': 'no-store' });
      res.end(this.closed ? 'shutting down\n' : 'too many live page clients; retry later\n');
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
      // the socket is not reused after the stream: shutdown need not wait for an idle keep-alive
      Connection: 'close',
    });
    res.socket?.setNoDelay(true);
    let text = `retry: ${this.options.retryMs ?? 2_000}\n\n`;
    const missed = this.missedSince(lastEventIdOf(req));
    if (missed) text += missed.join('');
    else {
      const snapshot = this.options.snapshot();
      text += encode(this.lastId, snapshot.type, snapshot.data);
    }
    this.clients.add(res);
    this.options.onClients?.(this.clients.size);
    const leave = () => {
      if (this.clients.delete(res)) this.options.onClients?.(this.clients.size);
    };
    // the response closes when the client goes away (or the stream is ended or cut)
    res.on('close', leave);
    this.write(res, text);
  }

  /** Ends every stream (clients reconnect to the next instance) and refuses new ones. */
  close(): void {
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const res of this.clients) res.end();
    this.clients.clear();
    this.options.onClients?.(0);
  }

  private writeAll(text: string): void {
    for (const res of this.clients) this.write(res, text);
  }

  private write(res: ServerResponse, text: string): void {
    if (res.destroyed) return;
    res.write(text);
    if (res.writableLength > this.options.maxClientBuffer) {
      this.options.onDropped?.('slow_client');
      this.clients.delete(res);
      this.options.onClients?.(this.clients.size);
      res.destroy();
    }
  }
}
