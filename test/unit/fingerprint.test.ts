import { describe, expect, it } from 'vitest';
import { canonicalUrl, fingerprint } from '../../src/pipeline/fingerprint.js';

describe('canonicalUrl', () => {
  it.each([
    ['HTTP://Example.COM:80/a?b=2&a=1#frag', 'http://example.com/a?a=1&b=2'],
    ['https://example.com:443/', 'https://example.com/'],
    ['https://example.com/p?', 'https://example.com/p'],
    ['https://example.com/p#only-fragment', 'https://example.com/p'],
    ['https://example.com:8443/p', 'https://example.com:8443/p'],
    // RFC 3986 6.2.2.1: the case of percent-encodings.
    ['http://example.com/a%2fb%c3%a9', 'http://example.com/a%2Fb%C3%A9'],
    ['http://example.com/?q=%3d%26', 'http://example.com/?q=%3D%26'],
    // 6.2.2.2: percent-encoded unreserved characters decoded, reserved ones kept.
    ['http://example.com/%7Euser/%41%62c', 'http://example.com/~user/Abc'],
    ['http://example.com/%7euser', 'http://example.com/~user'],
    ['http://example.com/a%2D%2E%5F%7E', 'http://example.com/a-._~'],
    ['http://example.com/a%2F%3F%23%5B%40', 'http://example.com/a%2F%3F%23%5B%40'],
    ['http://example.com/p?x=%7e%31&y=%2b', 'http://example.com/p?x=~1&y=%2B'],
    ['http://us%65r:p%61ss@example.com/', 'http://user:pass@example.com/'],
    ['http://example.com/bad%zz%4', 'http://example.com/bad%zz%4'],
    // 6.2.2.1 and the WHATWG parser: scheme and host case, percent-encoded host.
    ['HtTp://WWW.Ex%41mple.com/', 'http://www.example.com/'],
    // 6.2.2.3: dot segments, also spelled with percent-encodings.
    ['http://example.com/a/./b/../c', 'http://example.com/a/c'],
    ['http://example.com/a/%2e/b/%2E%2E/c', 'http://example.com/a/c'],
    // 6.2.3: default port, empty path.
    ['http://example.com:80', 'http://example.com/'],
    ['https://example.com', 'https://example.com/'],
    // The query is sorted by name, stable, and never re-encoded: + and %20 differ to a server.
    ['http://example.com/?b=1&a=2&b=0', 'http://example.com/?a=2&b=1&b=0'],
    ['http://example.com/?q=a+b&p=a%20b', 'http://example.com/?p=a%20b&q=a+b'],
    ['http://example.com/?flag&a=1', 'http://example.com/?a=1&flag'],
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
    const spellings = [
      'http://example.com/~user/caf%C3%A9?q=1',
      'HTTP://EXAMPLE.COM:80/%7Euser/caf%c3%a9?q=1',
      'http://example.com/%7euser/./caf%C3%A9?q=%31#x',
      'http://example.com/a/../%7Euser/caf%c3%A9?q=1',
    ];
    expect(new Set(spellings.map((u) => fingerprint(canonicalUrl(u)))).size).toBe(1);
    expect(fingerprint('http://example.com/x', 'POST')).not.toBe(fingerprint('http://example.com/x', 'GET'));
    expect(fingerprint('http://example.com/x', 'POST', 'a=1')).not.toBe(
      fingerprint('http://example.com/x', 'POST', 'a=2'),
    );
  });
});
