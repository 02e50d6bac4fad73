/**
 * What each pain-point kind is to the problems stage (docs/painpoints.md, Problems): a *primary* view of failures or
 * latency that can be a root or another view's symptom, a *consequence* that is a symptom of the
 * failure or latency behind it when there is one, or a *behaviour* that is always a root of its
 * own (it has its own fix) and contributes to the problem it aggravates. A typed record, so a new
 * kind without a role is a type error.
 */
import type { PainPointKind, PainPointRecord } from '../model/painpoint.js';

export type Role = 'primary' | 'consequence' | 'behaviour';

/** What a pain point's excess is measured in, to compare it with another's spans. */
export type Measure = 'failures' | 'latency' | 'tokens' | 'calls';

interface KindRole {
  readonly role: Role;
  readonly measure: Measure;
  /** behaviours: the consequence kinds it causes on its own spans, which become its symptoms */
  readonly absorbs?: readonly PainPointKind[];
}

export const KIND_ROLES: Readonly<Record<PainPointKind, KindRole>> = {
  failure_rate: { role: 'primary', measure: 'failures' },
  failure_spike: { role: 'primary', measure: 'failures' },
  latency_regression: { role: 'primary', measure: 'latency' },
  latency_bottleneck: { role: 'primary', measure: 'latency' },
  error_cluster: { role: 'consequence', measure: 'failures' },
  retry_storm: { role: 'consequence', measure: 'calls' },
  retry_exhaustion: { role: 'consequence', measure: 'failures' },
  provider_fallback: { role: 'consequence', measure: 'failures' },
  slow_tail: { role: 'consequence', measure: 'latency' },
  anomaly: { role: 'consequence', measure: 'tokens' },
  // retrying behaviours are about failed calls: the failures on their own spans (more attempts,
  // each failing again) and the storms and exhaustion they make are theirs
  retry_no_backoff: { role: 'behaviour', measure: 'failures', absorbs: ['retry_storm', 'retry_exhaustion', 'failure_rate', 'failure_spike'] },
  retry_non_retryable: { role: 'behaviour', measure: 'failures', absorbs: ['retry_storm', 'retry_exhaustion', 'failure_rate', 'failure_spike'] },
  repeated_calls: { role: 'behaviour', measure: 'calls', absorbs: ['anomaly'] },
  sequential_fanout: { role: 'behaviour', measure: 'calls' },
  // the agent kinds: a silent failure (a call reported successful that did not do its job) and a
  // loop each have their own fix, so they are roots; a loop's spans carry the token anomaly it
  // causes. Overspend is the consequence of whatever spent: its subject names a spender, not an
  // operation, so it stands alone unless a loop's or an anomaly's spans explain it
  silent_failure: { role: 'behaviour', measure: 'calls' },
  agent_loop: { role: 'behaviour', measure: 'calls', absorbs: ['anomaly', 'budget_exceeded'] },
  budget_exceeded: { role: 'consequence', measure: 'tokens' },
};

/** The measure of one pain point: an anomaly is in tokens or in calls, as its evidence says. */
export function measureOf(p: Pick<PainPointRecord, 'kind' | 'evidence'>): Measure {
  if (p.kind === 'anomaly') return p.evidence.metrics['metric'] === 'call_rate' ? 'calls' : 'tokens';
  return KIND_ROLES[p.kind].measure;
}
