import { describe, expect, it } from 'vitest';
import { classifyErrorMessage, isNonRetryable, messageTemplate, type ErrorClass } from './error-class.js';

describe('classifyErrorMessage rule table', () => {
  const cases: ReadonlyArray<readonly [string, ErrorClass]> = [
    ['429 Too Many Requests', 'rate_limit'],
    ['Rate limit reached for gpt-4o in organization org-abc', 'rate_limit'],
    ['anthropic: rate_limit_error', 'rate_limit'],
    ['Request was throttled', 'rate_limit'],
    ['You exceeded your current quota, please check your plan and billing details', 'quota'],
    ['429 insufficient_quota', 'quota'],
    ['Your credit balance is too low', 'quota'],
    ['401 Unauthorized', 'authentication'],
    ['Error: Invalid API key provided', 'authentication'],
    ['HTTP 403', 'authentication'],
    ['Forbidden: missing scope', 'authentication'],
    ['400 Bad Request', 'invalid_request'],
    ['invalid_request_error: messages must not be empty', 'invalid_request'],
    ['ValidationError: field "title" is required', 'invalid_request'],
    ['status 422', 'invalid_request'],
    ['404 page', 'not_found'],
    ['model gpt-9 not found', 'not_found'],
    ['ENOENT: no such file or directory', 'not_found'],
    ['Request timed out after 400ms', 'timeout'],
    ['Timeout waiting for response', 'timeout'],
    ['connect ETIMEDOUT 10.0.0.1:443', 'timeout'],
    ['504 Gateway Timeout', 'timeout'],
    ['read ECONNRESET', 'network'],
    ['connect ECONNREFUSED 127.0.0.1:8080', 'network'],
    ['getaddrinfo ENOTFOUND api.example.com', 'network'],
    ['socket hang up', 'network'],
    ['Network error', 'network'],
    ['502 Bad Gateway', 'network'],
    ['503', 'network'],
    ['overloaded_error: Overloaded', 'network'],
    ['Something odd happened', 'other'],
    ['', 'other'],
  ];
  for (const [text, expected] of cases) {
    it(`classifies ${JSON.stringify(text)} as ${expected}`, () => {
      expect(classifyErrorMessage(text)).toBe(expected);
    });
  }

  it('does not read status codes inside longer numbers or durations', () => {
    expect(classifyErrorMessage('processed 14290 records')).toBe('other');
    expect(classifyErrorMessage('took 4.29 s')).toBe('other');
    expect(classifyErrorMessage('waited 404ms')).toBe('other');
  });

  it('classifies null and undefined as other', () => {
    expect(classifyErrorMessage(null)).toBe('other');
    expect(classifyErrorMessage(undefined)).toBe('other');
  });
});

describe('messageTemplate', () => {
  it('groups the same error with different ids, numbers, urls and quoted values', () => {
    const a = messageTemplate('Rate limit reached for "gpt-4o" in org-7f3a9b2c1d: retry after 20s (request 3fa85f64-5717-4562-b3fc-2c963f66afa6)');
    const b = messageTemplate('Rate limit reached for "gpt-4o-mini" in org-0a1b2c3d4e: retry after 7s (request 9c858901-8a57-4791-81fe-4c455b099bc9)');
    expect(a).toBe('Rate limit reached for <str> in org-<hex>: retry after <num>s (request <uuid>)');
    expect(b).toBe(a);
  });

  it('replaces URLs, hex ids, timestamps and numbers', () => {
    expect(messageTemplate('GET https://api.example.com/v1/items/42?x=1 failed with 503')).toBe('GET <url> failed with <num>');
    expect(messageTemplate('span 0x1f2e failed at 2026-11-26T10:00:00.123Z after 1.5 ms')).toBe('span <hex> failed at <time> after <num> ms');
    expect(messageTemplate("can't open 'report.md'")).toBe("can't open <str>");
  });

  it('keeps model names and words intact and collapses whitespace', () => {
    expect(messageTemplate('  gpt-4o   failed\n twice ')).toBe('gpt-4o failed twice');
  });

  it('bounds the template length', () => {
    expect(messageTemplate('x'.repeat(10_000)).length).toBe(200);
  });
});

describe('isNonRetryable', () => {
  it('is true for 4xx other than 408 and 429', () => {
    expect(isNonRetryable(undefined, 400)).toBe(true);
    expect(isNonRetryable(undefined, 401)).toBe(true);
    expect(isNonRetryable(undefined, 404)).toBe(true);
    expect(isNonRetryable(undefined, 408)).toBe(false);
    expect(isNonRetryable(undefined, 429)).toBe(false);
    expect(isNonRetryable(undefined, 503)).toBe(false);
  });

  it('is true for invalid request, authentication, validation and not found classes', () => {
    for (const c of ['invalid_request', 'authentication', 'validation', 'not_found']) expect(isNonRetryable(c)).toBe(true);
    for (const c of ['timeout', 'network', 'rate_limit', 'quota', 'other']) expect(isNonRetryable(c)).toBe(false);
  });

  it('is false for a missing file (ENOENT), which a retry a moment later often finds, and true for an HTTP 404', () => {
    for (const c of ['ENOENT', "ENOENT: no such file or directory, open '/repo/a.ts'", 'FileNotFoundError']) expect(isNonRetryable(c)).toBe(false);
    expect(isNonRetryable('http_404')).toBe(true);
    expect(isNonRetryable('ENOENT', 404)).toBe(true);
  });

  it('reads http_<code> classes and raw error types', () => {
    expect(isNonRetryable('http_422')).toBe(true);
    expect(isNonRetryable('http_429')).toBe(false);
    expect(isNonRetryable('AuthenticationError')).toBe(true);
    expect(isNonRetryable('ValidationError')).toBe(true);
    expect(isNonRetryable('RateLimitError')).toBe(false);
    expect(isNonRetryable(undefined)).toBe(false);
  });
});
