/**
 * The live page: GET /ui (the page, complete without JavaScript), /ui/events (Server-Sent
 * Events: a snapshot on connect, then `alert`, `operations` and `critical_path` events) and
 * /ui/assets/* (stylesheet, script, uPlot). Fed by the service from the pipeline it observes:
 * every pain-point and problem change (problems, one per cause, replace the pain points on the
 * page once the first arrives: live-state.ts); each closed boundary's operation figures, which the operation_metrics
 * processor reports through its context (`operations`); and critical-path shares, read from the
 * trace stream beside the trace detectors (`criticalPath`).
 *
 * Chart updates of one burst of boundaries (a replay catching up) go out as one `operations` event
 * on the next turn of the event loop; alert changes go out at once.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { OperatorFunction } from 'rxjs';
import { isProblemChange, type OutputChange, type TraceStreamEvent } from '../model/events.js';
import type { UiSettings } from '../config/ui-schema.js';
import type { WindowsSettings } from '../config/service-schema.js';
import type { OperationFiguresFeed } from '../component/contracts.js';
import type { RequestRoute } from '../telemetry/http-endpoints.js';
import type { Logger } from '../telemetry/logger.js';
import type { AlertItem } from '../report/alert-item.js';
import { resolvedEntry, severityCounts } from '../report/components.js';
import { loadAssets, type Asset } from './assets.js';
import { criticalPathShares } from './critical-path-shares.js';
import { EventStream, type StreamMessage } from './event-stream.js';
import { LiveState, type ResolvedHistory } from './live-state.js';
import { alertCardHtml, chartData, chartTexts, criticalPathHtml, openHeading, operationCardHtml, operationFigures, openListHtml, operationsHtml, renderLivePage, resolvedListHtml } from './page.js';
import { sqliteResolvedHistory, type StoreHistory } from './store-history.js';
import { perRegistry } from '../telemetry/per-registry.js';

export interface LivePageOptions {
  readonly settings: UiSettings;
  /** names of the fine windows (service.windows.sizes), shortest first */
  readonly windows?: readonly string[];
  /** service.windows, for the critical-path windows */
  readonly windowSettings: WindowsSettings;
  readonly metrics: Registry;
  readonly logger: Logger;
  /** the sqlite exporter's database, read for resolved items across restarts */
  readonly storePath?: string;
  /** a resolved history other than the sqlite store (tests) */
  readonly store?: ResolvedHistory;
  /** wall clock (epoch ms) */
  readonly now?: () => number;
  /** this process's event-id prefix; random by default */
  readonly instance?: string;
  /** runs the coalesced chart update; default: the next turn of the event loop */
  readonly defer?: (fn: () => void) => void;
  readonly heartbeatMs?: number;
}

export interface LivePage {
  /** answers /ui, /ui/events and /ui/assets/*; false for any other path */
  readonly route: RequestRoute;
  /** for operation_metrics' context: each closed boundary's figures become a chart point */
  readonly operations: OperationFiguresFeed;
  /** runs on the trace stream beside the trace detectors; emits nothing */
  readonly criticalPath: OperatorFunction<TraceStreamEvent, never>;
  /** a pain-point or problem change of the observed pipeline */
  onChange(change: OutputChange): void;
  /** publishes pending chart updates now (normally on the next turn of the event loop) */
  flush(): void;
  /** ends the event streams and closes the store */
  close(): void;
  readonly state: LiveState;
  readonly events: EventStream;
}

interface UiMetrics {
  readonly clients: Gauge;
  readonly dropped: Counter<'reason'>;
}

const uiMetrics = perRegistry((registry): UiMetrics => ({
  clients: new Gauge({ name: 'sidelight_ui_clients', help: 'Live page event streams open', registers: [registry] }),
  dropped: new Counter({
    name: 'sidelight_ui_dropped_total',
    help: 'What the live page left out or cut off by a service.ui cap (reason = open | operation | clients | slow_client)',
    labelNames: ['reason'],
    registers: [registry],
  }),
}));

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function send(res: ServerResponse, status: number, headers: Record<string, string | number>, body: string | Buffer, headOnly: boolean): void {
  res.writeHead(status, { 'X-Content-Type-Options': 'nosniff', ...headers, 'Content-Length': Buffer.byteLength(body) });
  res.end(headOnly ? undefined : body);
}

export function createLivePage(options: LivePageOptions): LivePage {
  const { settings, logger } = options;
  const metrics = uiMetrics(options.metrics);
  const now = options.now ?? Date.now;
  const defer = options.defer ?? ((fn: () => void) => void setImmediate(fn));
  const storeHistory: StoreHistory | undefined = options.storePath !== undefined ? sqliteResolvedHistory(options.storePath, logger) : undefined;
  const store = options.store ?? storeHistory;
  const state = new LiveState({ settings, now, ...(options.windows ? { windows: options.windows } : {}), ...(store ? { store } : {}), onDropped: (what) => metrics.dropped.inc({ reason: what }) });
  const assets = loadAssets((path, err) => logger.error(`live page: asset ${path} is missing from the installation (${String(err)}); the page works without it`));

  /** boundary count and operation keys the clients have */
  let sentBoundaries = 0;
  let sentKeys = new Set<string>();
  let sentCriticalPath = '';
  let scheduled = false;
  let dirty = false;

  const snapshot = (): StreamMessage => {
    // what is pending goes to the connected clients first, so the snapshot and the events after it do not overlap
    if (dirty) flushOperations();
    const h = state.history;
    const times = h.timeAxis();
    return {
      type: 'snapshot',
      data: {
        generated_at: new Date(now()).toISOString(),
        open_heading: openHeading(state.source),
        counts_html: severityCounts(state.counts()),
        open_html: openListHtml(state, settings),
        resolved_html: resolvedListHtml(state),
        ops_html: operationsHtml(state),
        critical_path_html: criticalPathHtml(state),
        ops: {
          windows: h.windows,
          capacity: h.capacity,
          times,
          data: Object.fromEntries(h.keys().map((k) => [k, chartData(h.series(k) as NonNullable<ReturnType<typeof h.series>>)])),
        },
      },
    };
  };

  const events = new EventStream({
    instance: options.instance ?? `${now().toString(36)}${randomBytes(3).toString('hex')}`,
    backlog: settings.event_backlog,
    maxClients: settings.max_clients,
    maxClientBuffer: settings.max_client_buffer,
    snapshot,
    ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}),
    onClients: (n) => metrics.clients.set(n),
    onDropped: (reason) => metrics.dropped.inc({ reason }),
  });

  /** The chart changes since the last `operations` event: new points, new and removed cards, order and figures. */
  const flushOperations = () => {
    dirty = false;
    const h = state.history;
    const fresh = Math.min(h.boundaries - sentBoundaries, h.capacity);
    const keys = h.keys();
    const added = new Set(keys.filter((k) => !sentKeys.has(k)));
    const removed = [...sentKeys].filter((k) => !h.has(k));
    const data: Record<string, unknown> = {};
    const figures: Record<string, unknown> = {};
    const trouble: Record<string, string | null> = {};
    const points: Record<string, number> = {};
    const cards: Record<string, string> = {};
    const texts: Record<string, unknown> = {};
    for (const k of keys) {
      const series = h.series(k, added.has(k) ? undefined : fresh);
      if (series) data[k] = chartData(series);
      figures[k] = operationFigures(state, k);
      trouble[k] = state.troubleOf(k) ?? null;
      points[k] = h.pointCount(k);
      texts[k] = chartTexts(state, k);
      if (added.has(k)) cards[k] = operationCardHtml(state, k);
    }
    events.publish('operations', { windows: h.windows, times: h.timeAxis(fresh), capacity: h.capacity, order: state.operationOrder(), added: cards, removed, data, figures, trouble, points, texts });
    sentBoundaries = h.boundaries;
    sentKeys = new Set(keys);
    const cp = criticalPathHtml(state);
    if (cp !== sentCriticalPath) {
      events.publish('critical_path', { html: cp });
      sentCriticalPath = cp;
    }
  };

  const scheduleOperations = () => {
    dirty = true;
    if (scheduled) return;
    scheduled = true;
    defer(() => {
      scheduled = false;
      if (dirty) flushOperations();
    });
  };

  const publishItem = (item: AlertItem) => {
    const done = item.state === 'resolved' || item.state === 'merged';
    events.publish('alert', {
      id: item.id,
      state: item.state,
      severity: item.severity,
      ...(done ? { resolved_html: resolvedEntry(item) } : { html: alertCardHtml(item, settings, state.history.timeAxis(1)[0]) }),
      order: state.openItems().map((i) => i.id),
      counts_html: severityCounts(state.counts()),
    });
  };

  const route: RequestRoute = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?', 1)[0] as string;
    if (path !== '/ui' && !path.startsWith('/ui/')) return false;
    const headOnly = req.method === 'HEAD';
    if (req.method !== 'GET' && !headOnly) {
      send(res, 405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }, 'method not allowed\n', false);
      req.resume();
      return true;
    }
    if (path === '/ui/') {
      send(res, 308, { Location: '/ui', 'Content-Type': 'text/plain; charset=utf-8' }, 'see /ui\n', headOnly);
    } else if (path === '/ui') {
      const html = renderLivePage(state, settings, now());
      send(res, 200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Security-Policy': CSP, 'Referrer-Policy': 'same-origin' }, html, headOnly);
    } else if (path === '/ui/events') {
      if (headOnly) send(res, 200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store' }, '', true);
      else events.handle(req, res);
    } else {
      const a: Asset | undefined = assets.get(path);
      if (!a) send(res, 404, { 'Content-Type': 'text/plain; charset=utf-8' }, 'not found\n', headOnly);
      else if (req.headers['if-none-match'] === a.etag) {
        res.writeHead(304, { ETag: a.etag, 'Cache-Control': 'no-cache' });
        res.end();
      } else send(res, 200, { 'Content-Type': a.contentType, ETag: a.etag, 'Cache-Control': 'no-cache' }, a.body, headOnly);
    }
    return true;
  };

  const operations: OperationFiguresFeed = {
    keep: settings.history_points,
    record: (time, figures) => {
      state.history.record(time, figures);
      scheduleOperations();
    },
  };

  const criticalPath = criticalPathShares({
    windows: options.windowSettings,
    maxOperations: settings.max_operations,
    top: settings.critical_path_top,
    registry: options.metrics,
    onWatermark: (_time, window, rows) => {
      state.criticalPath = { window, rows };
      // published with the next chart update (coalesced), or alone when no chart is fed
      scheduleOperations();
    },
  });

  return {
    route,
    operations,
    criticalPath,
    state,
    events,
    onChange(change) {
      let changed: AlertItem[];
      if (isProblemChange(change)) {
        const applied = state.applyProblemChange(change);
        changed = applied.items;
        // the first problem replaces every pain-point item: the clients take the whole state again
        if (applied.switched) {
          events.publish('snapshot', snapshot().data);
          return;
        }
      } else changed = state.applyPainPointChange(change);
      for (const item of changed) publishItem(item);
      // an item's severity moves its operation up or down the charts
      if (changed.length > 0) scheduleOperations();
    },
    flush: () => {
      if (dirty) flushOperations();
    },
    close() {
      events.close();
      storeHistory?.close();
    },
  };
}
