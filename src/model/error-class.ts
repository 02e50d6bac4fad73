/**
 * Error classification (docs/input.md): a documented rule table that turns free-text error strings
 * (span status messages, kc `error` fields, fallback reasons) into a small set of classes, plus
 * the message template that makes the same error group across ids, numbers and URLs.
 */

export const ERROR_CLASSES = [
  'timeout',
  'network',
  'rate_limit',
  'quota',
  'authentication',
  'invalid_request',
  'not_found',
  'other',
] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

/** A bare HTTP status number: not part of a longer number, a decimal or a word (`400ms` is a duration). */
const status = (...codes: number[]): string => `(?<![\\w.])(?:${codes.join('|')})(?![\\w]|\\.\\d)`;

/**
 * The rule table, checked in order; the first matching rule wins. The order settles overlaps:
 * - quota before rate_limit: OpenAI answers an exhausted quota with 429 `insufficient_quota`;
 * - authentication before invalid_request: `invalid api key` is an auth failure, not a bad request;
 * - timeout and network before the generic 4xx rules, so `timed out after 400 ms`-style text
 *   and `ECONNRESET … 404` proxies are judged by their words, not by a stray number;
 * - not_found before invalid_request (both are 4xx, 404 is the more specific one).
 */
export const ERROR_CLASS_RULES: ReadonlyArray<{ readonly errorClass: Exclude<ErrorClass, 'other'>; readonly pattern: RegExp }> = [
  {
    errorClass: 'quota',
    pattern: /quota|\bbilling\b|credit balance|out of credits|payment required|(?<![\w.])402(?![\w]|\.\d)/i,
  },
  {
    errorClass: 'rate_limit',
    pattern: new RegExp(`rate[ _-]?limit|too many requests|throttl|${status(429)}|resource[_ ]exhausted|slow down`, 'i'),
  },
  {
    errorClass: 'authentication',
    pattern: new RegExp(
      `unauthori[sz]ed|unauthenticated|forbidden|invalid[_ ](?:api[_ ]?)?key|api[_ ]?key|authenticat|permission[_ ]denied|access denied|invalid[_ ]token|token (?:has )?expired|${status(401, 403)}`,
      'i',
    ),
  },
  {
    errorClass: 'timeout',
    pattern: new RegExp(`timed?[ _-]?out|ETIMEDOUT|ESOCKETTIMEDOUT|deadline[_ ]exceeded|${status(408, 504)}`, 'i'),
  },
  {
    errorClass: 'network',
    pattern: new RegExp(
      `ECONNRESET|ECONNREFUSED|ECONNABORTED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EPIPE|socket hang up|network|connection (?:reset|refused|closed|error)|fetch failed|bad gateway|service unavailable|overloaded|\\bunavailable\\b|${status(502, 503, 529)}`,
      'i',
    ),
  },
  {
    errorClass: 'not_found',
    pattern: new RegExp(`not[ _]found|no such file|ENOENT|does not exist|${status(404, 410)}`, 'i'),
  },
  {
    errorClass: 'invalid_request',
    pattern: new RegExp(
      `invalid[_ ]request|invalid[_ ]argument|validation|validat(?:e|ing)|bad request|malformed|unprocessable|schema|${status(400, 413, 422)}`,
      'i',
    ),
  },
];

/** Classifies an error text by the first matching rule of ERROR_CLASS_RULES; `other` when none matches. */
export function classifyErrorMessage(text: string | null | undefined): ErrorClass {
  if (!text) return 'other';
  // Long texts (stack traces) are classified by their head: the cause is stated first and it bounds the work.
  const head = text.length > 2_000 ? text.slice(0, 2_000) : text;
  for (const rule of ERROR_CLASS_RULES) {
    if (rule.pattern.test(head)) return rule.errorClass;
  }
  return 'other';
}

const TEMPLATE_MAX_LENGTH = 200;

/** Ordered replacements: wider shapes first, so a URL's digits are not replaced before the URL itself. */
const TEMPLATE_RULES: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, '<url>'],
  [/(?<!\w)"[^"\n]{0,500}"|(?<!\w)'[^'\n]{0,500}'(?!\w)|`[^`\n]{0,500}`/g, '<str>'],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/\b0x[0-9a-f]+\b|\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi, '<hex>'],
  // ISO timestamps before plain numbers, or they turn into `<num>-<num>-<num>T…`
  [/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?/g, '<time>'],
  [/\b\d+(?:\.\d+)?(ms|us|µs|ns|s|m|h|d|kb|mb|gb|k|b|%)?\b/gi, '<num>$1'],
];

/**
 * Normalizes an error message so occurrences of the same error group together: URLs, quoted
 * strings, UUIDs, hex ids, timestamps and numbers become placeholders; whitespace collapses.
 */
export function messageTemplate(message: string): string {
  let text = message.length > 4 * TEMPLATE_MAX_LENGTH ? message.slice(0, 4 * TEMPLATE_MAX_LENGTH) : message;
  for (const [pattern, replacement] of TEMPLATE_RULES) text = text.replace(pattern, replacement);
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > TEMPLATE_MAX_LENGTH ? text.slice(0, TEMPLATE_MAX_LENGTH) : text;
}

const NON_RETRYABLE_CLASSES: ReadonlySet<string> = new Set(['invalid_request', 'authentication', 'validation', 'not_found']);

/** A filesystem not-found: `ENOENT`, "no such file", `FileNotFoundError`. */
const FILE_NOT_FOUND = /ENOENT|no such file|FileNotFound/i;

/** 4xx means the request itself is wrong, except 408 (timeout) and 429 (rate limit) which clear with time. */
function isNonRetryableStatus(code: number): boolean {
  return code >= 400 && code < 500 && code !== 408 && code !== 429;
}

/**
 * True when retrying cannot help (docs/painpoints.md retry_non_retryable): a 4xx other than 408/429, or an
 * error class of invalid request, authentication, validation or not found — but not a missing file
 * (ENOENT), which a retry a moment later often finds. The class may be one of
 * ERROR_CLASSES, an `http_<code>` class from the span model, or a raw `error.type` such as
 * `AuthenticationError`, which is classified by the rule table.
 */
export function isNonRetryable(errorClass: string | undefined, httpStatus?: number): boolean {
  if (httpStatus !== undefined && isNonRetryableStatus(httpStatus)) return true;
  if (errorClass === undefined || errorClass === '') return false;
  // A missing file is a race more often than a wrong request: another step is still writing it, a
  // checkout is finishing. Agents re-read after a moment and it works, so it is not a wasted retry.
  if (FILE_NOT_FOUND.test(errorClass)) return false;
  if (NON_RETRYABLE_CLASSES.has(errorClass)) return true;
  const http = /^http_(\d{3})$/.exec(errorClass);
  if (http) return isNonRetryableStatus(Number(http[1]));
  if ((ERROR_CLASSES as readonly string[]).includes(errorClass)) return false;
  return NON_RETRYABLE_CLASSES.has(classifyErrorMessage(errorClass));
}
