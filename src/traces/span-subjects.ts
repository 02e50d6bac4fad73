/**
 * The series subjects of trace spans, remembered by the span fields they are made of.
 *
 * A trace detector asks for the subjects of every span of every trace, and each span is a new
 * object (the assembler's compact copy), so model/series.ts's per-object cache never hits and
 * each ask built the subjects' text key and inserted a WeakMap entry: profiling the dense live
 * load showed retry_patterns' seriesSubjects calls as a third of the trace detectors' time. Spans
 * of one operation share their texts (the assembler's shared copies), so comparing the fields of
 * a remembered span is a few identity tests.
 *
 * The fields compared are a superset of what the subjects are made of (service, span name and
 * every dimension field, model/series.ts), so a hit gives what `make` would give. Bounded: past
 * `max` remembered field sets it starts over (it only saves work), counted in `resets`.
 */
import type { SpanRecord } from '../model/span.js';

type SubjectFields = Pick<SpanRecord, 'service' | 'name' | 'tool' | 'model' | 'taskType' | 'provider' | 'agent' | 'agentVersion'>;

interface Entry<T> {
  readonly fields: SubjectFields;
  readonly value: T;
}

function sameFields(a: SubjectFields, b: SpanRecord): boolean {
  return (
    a.name === b.name &&
    a.service === b.service &&
    a.tool === b.tool &&
    a.model === b.model &&
    a.taskType === b.taskType &&
    a.provider === b.provider &&
    a.agent === b.agent &&
    a.agentVersion === b.agentVersion
  );
}

/** default cap on the field sets remembered (series are capped at far fewer) */
const MAX_FIELD_SETS = 4_096;

export class SubjectsByFields<T> {
  /** entries by operation key (a bucket: the fields decide) */
  private readonly byOperation = new Map<string, Entry<T>[]>();
  private size = 0;
  /** times the table was full and started over */
  resets = 0;

  constructor(
    /** the value for a span; must depend only on the fields compared */
    private readonly make: (span: SpanRecord) => T,
    private readonly max = MAX_FIELD_SETS,
  ) {}

  of(span: SpanRecord): T {
    let list = this.byOperation.get(span.operationKey);
    if (list !== undefined) {
      for (let i = 0; i < list.length; i++) {
        const e = list[i] as Entry<T>;
        if (sameFields(e.fields, span)) return e.value;
      }
    }
    const value = this.make(span);
    if (this.size >= this.max) {
      this.byOperation.clear();
      this.size = 0;
      this.resets++;
      list = undefined;
    }
    if (list === undefined) this.byOperation.set(span.operationKey, (list = []));
    const { service, name, tool, model, taskType, provider, agent, agentVersion } = span;
    list.push({ fields: { service, name, tool, model, taskType, provider, agent, agentVersion }, value });
    this.size++;
    return value;
  }
}
