import { describe, expect, it } from 'vitest';
import { VirtualTimeScheduler, VirtualAction } from 'rxjs';
import * as sidelight from '../src/index.js';
import { recordTraces } from './support/readable-to-record.js';
import { agentWorkload } from './support/agent-workload.js';

const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const spans = () => recordTraces(agentWorkload({ start: T0, tasks: 120, every: 1_500, failEveryFive: 2 })).sort((a, b) => a.endMs - b.endMs);

describe('the library surface', () => {
  it('exports the README.md entry points', () => {
    expect(typeof sidelight.analyzeSpans).toBe('function');
    expect(typeof sidelight.createPipeline).toBe('function');
    expect(typeof sidelight.NativeAgentLightning).toBe('function');
    expect(typeof sidelight.renderMarkdownReport).toBe('function');
  });

  it('keeps the sidecar out of the analysis entry: the service and config files are in sidelight/service', async () => {
    expect('startService' in sidelight).toBe(false);
    expect('components' in sidelight).toBe(false);
    const service = await import('../src/service.js');
    expect(typeof service.startService).toBe('function');
    expect(typeof service.loadConfigFile).toBe('function');
    expect(service.components.exporters.size).toBeGreaterThan(0);
  });

  it('validates an analysis config on its processors and service, accepting a full sidecar config without loading its receivers or exporters', async () => {
    const config = sidelight.parseAnalysisConfig(
      { receivers: { otlp: {} }, processors: { failure_rate: { min_samples: 30 } }, exporters: { webhook: { endpoint: 'http://127.0.0.1:1' } } },
      sidelight.analysisComponents,
      sidelight.ANALYSIS_DEFAULTS,
    );
    expect([...config.processors.keys()]).toEqual(['failure_rate']);
    expect(config.receivers.size).toBe(0);
    expect(() => sidelight.parseAnalysisConfig({ processors: { failure_rate: { min_sampels: 30 } } }, sidelight.analysisComponents, sidelight.ANALYSIS_DEFAULTS)).toThrow(
      /processors\.failure_rate\.min_sampels: unknown key/,
    );
  });

  it('createPipeline streams pain-point changes for pushed spans and resolves every change on close', async () => {
    const pipeline = sidelight.createPipeline({ processors: { failure_rate: {}, categorize: {}, recommend: {} } });
    const seen: string[] = [];
    pipeline.changes$.subscribe((c) => seen.push(`${c.painpoint.state} ${c.painpoint.kind} ${c.painpoint.subject.tool}`));
    pipeline.push(spans());
    expect(seen[0]).toBe('open failure_rate web_search'); // emitted while spans flow, before close
    const all = await pipeline.close();
    expect(all.map((c) => `${c.painpoint.state} ${c.painpoint.kind} ${c.painpoint.subject.tool}`)).toEqual(seen);
    expect(all[0]!.recommendations.length).toBeGreaterThan(0);
  });

  it('createPipeline in live mode closes windows on the scheduler clock when input goes quiet', () => {
    // A pain point stays open while some window still shows it (sparse series are judged on windows
    // up to 24 h), so the quiet stretch has to outlast the longest window.
    const scheduler = new VirtualTimeScheduler(VirtualAction, 26 * 3_600_000);
    const pipeline = sidelight.createPipeline({ processors: { failure_rate: {} } }, { mode: 'live', scheduler });
    const states: string[] = [];
    pipeline.changes$.subscribe((c) => states.push(c.painpoint.state));
    pipeline.push(spans());
    const before = pipeline.clock.watermark;
    scheduler.flush(); // 26 quiet hours on the virtual clock
    expect(pipeline.clock.watermark).toBeGreaterThan(before + 25 * 3_600_000);
    expect(states).toContain('resolved');
  });

  it('rejects a bad config with the path in the error', () => {
    expect(() => sidelight.createPipeline({ processors: { failure_rate: { min_samples: 'x' } } })).toThrow(/processors\.failure_rate\.min_samples/);
  });
});
