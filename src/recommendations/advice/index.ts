/**
 * The advice templates (docs/outputs.md, Recommendations): for each pain-point kind (and, for
 * failures, each error family) a concrete fix that cites the evidence's numbers, acceptance
 * criteria measurable from Sidelight's own telemetry, constraints for the agent that implements it,
 * and an effort estimate. Acceptance targets are the default firing thresholds (a fixed problem
 * stops firing). One module per family; kinds map to templates in one typed record, so a kind
 * without advice is a type error.
 */
import type { PainPointKind, PainPointRecord } from '../../model/painpoint.js';
import { DEFAULT_ADVICE_OPTIONS, factsOf, type Advice, type AdviceOptions, type AdviceTemplate } from './types.js';
import { failureRateAdvice } from './failure-rate.js';
import { errorClusterAdvice, failureSpikeAdvice, providerFallbackAdvice } from './reliability.js';
import { retryExhaustionAdvice, retryNoBackoffAdvice, retryNonRetryableAdvice, retryStormAdvice } from './retries.js';
import { latencyBottleneckAdvice, latencyRegressionAdvice, slowTailAdvice } from './latency.js';
import { repeatedCallsAdvice, sequentialFanoutAdvice } from './structure.js';
import { anomalyAdvice } from './anomaly.js';
import { agentLoopAdvice, budgetExceededAdvice, silentFailureAdvice } from './agent.js';

export { DEFAULT_ADVICE_OPTIONS, type Advice, type AdviceOptions, type Criterion, type MeasuredQuantity } from './types.js';

export const ADVICE: { readonly [K in PainPointKind]: AdviceTemplate<K> } = {
  failure_rate: failureRateAdvice,
  failure_spike: failureSpikeAdvice,
  error_cluster: errorClusterAdvice,
  provider_fallback: providerFallbackAdvice,
  retry_storm: retryStormAdvice,
  retry_exhaustion: retryExhaustionAdvice,
  retry_non_retryable: retryNonRetryableAdvice,
  retry_no_backoff: retryNoBackoffAdvice,
  latency_regression: latencyRegressionAdvice,
  latency_bottleneck: latencyBottleneckAdvice,
  slow_tail: slowTailAdvice,
  repeated_calls: repeatedCallsAdvice,
  sequential_fanout: sequentialFanoutAdvice,
  anomaly: anomalyAdvice,
  silent_failure: silentFailureAdvice,
  agent_loop: agentLoopAdvice,
  budget_exceeded: budgetExceededAdvice,
};

function adviseKind<K extends PainPointKind>(kind: K, pp: PainPointRecord, options: AdviceOptions): Advice {
  const template: AdviceTemplate<K> = ADVICE[kind];
  return template(factsOf(kind, pp, options));
}

export function adviseFor(pp: PainPointRecord, options: AdviceOptions = DEFAULT_ADVICE_OPTIONS): Advice {
  return adviseKind(pp.kind, pp, options);
}
