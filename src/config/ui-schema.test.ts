import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseConfigObject, ConfigError } from '../config-file/load.js';
import { parseConfigText } from '../config-file/load-file.js';
import { substituteEnv } from '../config-file/env-substitution.js';
import { components, DEFAULT_CONFIG } from '../pipeline/components.js';
import { traceLink } from '../report/components.js';
import { uiSchema } from './ui-schema.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('service.ui', () => {
  it('is on by default, with no trace links', () => {
    const ui = uiSchema.parse({});
    expect(ui.enabled).toBe(true);
    expect(ui.trace_url).toBeUndefined();
    expect(ui.resolved_window).toBe(86_400_000);
  });

  it('rejects a trace_url without {trace_id} or that is not http(s), naming the path', () => {
    const issues = (ui: unknown) => {
      try {
        parseConfigObject({ service: { ui } }, components, DEFAULT_CONFIG);
        return [];
      } catch (err) {
        return (err as ConfigError).issues;
      }
    };
    expect(issues({ trace_url: 'http://jaeger:16686/trace/' })).toEqual(['service.ui.trace_url: must contain {trace_id}, e.g. http://127.0.0.1:16686/trace/{trace_id}']);
    expect(issues({ trace_url: 'javascript:alert({trace_id})' })).toEqual(['service.ui.trace_url: must be an http:// or https:// URL']);
    expect(issues({ max_clients: 0 })[0]).toMatch(/^service\.ui\.max_clients: /);
    expect(issues({ trace_url: 'http://x/{trace_id}', colour: 'red' })).toEqual(['service.ui.colour: unknown key']);
  });

  it.each([
    ['jaeger.yaml', `http://127.0.0.1:16686/trace/${TRACE}`],
    ['tempo.yaml', `http://127.0.0.1:3000/explore?schemaVersion=1&orgId=1&panes=`],
  ])('the %s example links a trace id through its template', (file, start) => {
    const path = fileURLToPath(new URL(`../../config/examples/${file}`, import.meta.url));
    const config = parseConfigObject(substituteEnv(parseConfigText(readFileSync(path, 'utf8'), file), {}), components, DEFAULT_CONFIG);
    // the attribute is HTML-escaped
    const href = (/href="([^"]+)"/.exec(traceLink(TRACE, config.service.ui.trace_url))?.[1] ?? '').replace(/&amp;/g, '&');
    expect(href.startsWith(start)).toBe(true);
    expect(href).toContain(TRACE);
    // the Grafana link carries the id inside its URL-encoded query, as TraceQL's query
    if (file === 'tempo.yaml') expect(JSON.parse(decodeURIComponent(new URL(href).searchParams.get('panes') ?? '')).a.queries[0].query).toBe(TRACE);
  });
});
