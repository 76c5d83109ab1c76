import { describe, expect, it } from 'vitest';
import { canonicalUrl, fingerprint } from '../src/pipeline/fingerprint.js';

describe('canonicalUrl', () => {
  it.each([
    ['HTTP://Example.COM:80/a?b=2&a=1#frag', 'http://example.com/a?a=1&b=2'],
    ['https://example.com:443/', 'https://example.com/'],
    ['https://example.com/p?', 'https://example.com/p'],
    ['https://example.com/p#only-fragment', 'https://example.com/p'],
    ['https://example.com:8443/p', 'https://example.com:8443/p'],
  ])('%s -> %s', (input, expected) => {
    expect(canonicalUrl(input)).toBe(expected);
  });

  it('rejects non-http schemes and garbage', () => {
    expect(() => canonicalUrl('ftp://example.com/')).toThrow(/only http/);
    expect(() => canonicalUrl('not a url')).toThrow(/invalid URL/);
  });
});

describe('fingerprint', () => {
  it('differs by method and body, not by equivalent spelling', () => {
    const a = fingerprint(canonicalUrl('http://EXAMPLE.com/x?b=1&a=2'));
    const b = fingerprint(canonicalUrl('http://example.com:80/x?a=2&b=1#top'));
    expect(a).toBe(b);
    expect(fingerprint('http://example.com/x', 'POST')).not.toBe(fingerprint('http://example.com/x', 'GET'));
    expect(fingerprint('http://example.com/x', 'POST', 'a=1')).not.toBe(
      fingerprint('http://example.com/x', 'POST', 'a=2'),
    );
  });
});
