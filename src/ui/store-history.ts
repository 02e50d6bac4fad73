/**
 * The resolved items of the sqlite exporter's store, so the page shows the last 24 h across
 * sidecar restarts. Opened read-only when first asked (the exporter creates the file), kept
 * open, and read per snapshot; a store that cannot be read is logged once and left out.
 */
import { openPainPointStore, type PainPointStore } from '../../exporters/sqlite.js';
import type { Logger } from '../telemetry/logger.js';
import { alertItemFromPainPoint } from '../report/alert-item.js';
import type { ResolvedHistory } from './live-state.js';

export interface StoreHistory extends ResolvedHistory {
  close(): void;
}

export function sqliteResolvedHistory(path: string, logger: Logger): StoreHistory {
  let store: PainPointStore | undefined;
  let warned = false;
  return {
    resolvedSince(sinceMs, limit) {
      try {
        store ??= openPainPointStore(path);
        return store.listResolvedSince(new Date(sinceMs).toISOString(), limit).map(({ updated_at: _at, ...pp }) => alertItemFromPainPoint(pp));
      } catch (err) {
        if (!warned) logger.warn(`live page: cannot read resolved pain points from ${path}: ${String(err)}`);
        warned = true;
        return [];
      }
    },
    close() {
      try {
        store?.close();
      } catch {
        // already closed
      }
      store = undefined;
    },
  };
}
