/** Advice for anomaly: trim context for a token anomaly, find the cause of any other. */
import { formatCount, formatNumber } from '../../model/evidence-format.js';
import { COMMON_DO, COMMON_DONT, criterion, type Advice, type AdviceTemplate } from './types.js';

export const anomalyAdvice: AdviceTemplate<'anomaly'> = (f): Advice => {
  const { robust_z: z, value, median } = f.m;
  const metric = f.m.metric ?? 'value';
  const figures = `${value !== undefined ? `${formatNumber(value)}` : 'an outlier'}${median !== undefined ? ` vs a median of ${formatNumber(median)}` : ''}${z !== undefined ? ` (robust z ${formatNumber(z)})` : ''}`;
  const acceptance = [criterion('robust_z', `robust z-score of ${metric} of ${f.label} below 4 ${f.over}`)];
  if (f.m.metric === 'tokens_per_call') {
    const cap = median !== undefined ? Math.ceil(median * 1.5) : undefined;
    return {
      title: `Trim context and cap max_tokens for ${f.label}`,
      summary: `Token usage (${metric}) of ${f.label} is ${figures} in ${f.window}.`,
      steps: [
        'Trim the context sent to the model: drop stale turns, summarize long histories, send only the files the step needs.',
        `Cap max_tokens${cap !== undefined ? ` at about ${formatCount(cap)} (1.5 × the median)` : ' at a bound fit for the step'}.`,
        `Check the exemplar traces (${f.exemplars}) for loops that resend the same content.`,
      ],
      acceptance,
      do: [...COMMON_DO, 'Keep the context budget as configuration'],
      dont: [...COMMON_DONT, 'Do not cut context the task needs to succeed'],
      outputs: ['a context budget and max_tokens cap'],
      effort: 'M',
    };
  }
  return {
    title: `Investigate the ${metric} anomaly of ${f.label}`,
    summary: `${metric} of ${f.label} is ${figures} in ${f.window}.`,
    steps: [
      `Look at what changed at ${f.pp.first_seen} and open the exemplar traces (${f.exemplars}).`,
      'Decide whether the new level is expected; if not, fix its cause, else let the baseline adapt.',
    ],
    acceptance,
    do: [...COMMON_DO, 'Name the cause in the task result'],
    dont: COMMON_DONT,
    outputs: ['the cause of the anomaly'],
    effort: 'M',
  };
};
