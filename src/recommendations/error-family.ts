/**
 * Maps an `error_class` value to one of the docs/input.md families (timeout, network, rate limit, quota,
 * authentication, invalid request, not found, other) so advice can be chosen per family whether the
 * class came from our classifier (`rate_limit`), an `error.type` (`RateLimitError`) or a status (`429`).
 */
export type ErrorFamily =
  | 'timeout'
  | 'network'
  | 'rate_limit'
  | 'quota'
  | 'authentication'
  | 'invalid_request'
  | 'not_found'
  | 'other';

// Checked in order; quota before rate_limit because an exhausted quota is often answered with 429.
const FAMILY_RULES: ReadonlyArray<readonly [ErrorFamily, RegExp]> = [
  ['quota', /quota|billing|credit|payment|(?:^|\D)402(?:\D|$)/i],
  ['rate_limit', /rate[ _-]?limit|too[ _-]?many[ _-]?requests|throttl|(?:^|\D)429(?:\D|$)|resource[ _-]?exhausted/i],
  ['authentication', /auth|forbidden|permission|api[ _-]?key|credential|(?:^|\D)40[13](?:\D|$)/i],
  ['timeout', /time[ _-]?out|timedout|deadline|(?:^|\D)(?:408|504)(?:\D|$)/i],
  ['network', /network|econn|enotfound|eai_again|socket|connection|unavailable|overloaded|bad[ _-]?gateway|(?:^|\D)(?:502|503|529)(?:\D|$)/i],
  ['not_found', /not[ _-]?found|enoent|(?:^|\D)(?:404|410)(?:\D|$)/i],
  ['invalid_request', /invalid|validation|bad[ _-]?request|malformed|schema|unprocessable|(?:^|\D)(?:400|413|422)(?:\D|$)/i],
];

export function errorFamily(errorClass: string | undefined): ErrorFamily {
  if (errorClass === undefined || errorClass === '') return 'other';
  for (const [family, pattern] of FAMILY_RULES) if (pattern.test(errorClass)) return family;
  return 'other';
}
