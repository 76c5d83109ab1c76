import { describe, expect, it } from 'vitest';
import {
  errorRecord,
  HttpStatusError,
  InvalidUrlError,
  isErrorCode,
  OptionError,
  redactUrl,
  SharedFrontierError,
  SinkError,
  TrawlError,
  UsageError,
} from '../../src/errors.js';

describe('redactUrl', () => {
  it.each([
    ['redis://:s3cret@127.0.0.1:6379', 'redis://127.0.0.1:6379'],
    ['redis://default:s3cret@cache:6379/0', 'redis://cache:6379/0'],
    ['http://user:pa%40ss@proxy:3128', 'http://proxy:3128'],
    // An unescaped @ in the password: the last one before the host ends the userinfo.
    ['postgres://app:p@ss@db/items?table=x', 'postgres://db/items?table=x'],
    ['https://ann@example.com/a@b', 'https://example.com/a@b'],
    ['https://example.com/path@x?q=a@b#f@g', 'https://example.com/path@x?q=a@b#f@g'],
    ['mailto:ann@example.com', 'mailto:ann@example.com'],
    ['no url at all', 'no url at all'],
  ])('%s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });

  it('redacts every URL in a text, quoted or not', () => {
    expect(
      redactUrl('cannot reach "redis://:a@h1:6379" nor postgres://u:b@h2/db, and ann@example.com wrote'),
    ).toBe('cannot reach "redis://h1:6379" nor postgres://h2/db, and ann@example.com wrote');
  });
});

describe('trawl errors carry no credentials', () => {
  it.each([
    ['a message built by hand', new SharedFrontierError('cannot connect to Redis at redis://:pw@h:6379')],
    ['a sink message', new SinkError('insert failed on postgres://app:pw@db/items')],
    ['an invalid URL', new InvalidUrlError('ftp://ann:pw@files/x')],
    ['an HTTP status', new HttpStatusError(404, 'https://ann:pw@example.com/x')],
    ['an option value', new OptionError('distributed.redis', 'a redis:// URL', 'http://ann:pw@h')],
    ['a usage error', new UsageError('unsupported output "mysql://root:pw@db/x"')],
  ])('%s', (_, error) => {
    expect(error.message).not.toContain('pw');
    expect(error.stack).not.toContain('pw');
    expect(errorRecord(error).message).toBe(error.message);
  });

  it('keeps the URL itself on the error, for a program that needs it', () => {
    expect(new InvalidUrlError('ftp://ann:pw@files/x').url).toBe('ftp://ann:pw@files/x');
  });

  it('redacts the message of an error that is not trawl’s in its record', () => {
    const record = errorRecord(
      Object.assign(new Error('connect to http://u:pw@proxy failed'), { code: 'X' }),
    );
    expect(record).toEqual({ code: 'X', message: 'connect to http://proxy failed' });
    expect(errorRecord('redis://:pw@h down')).toEqual({ code: 'UNKNOWN', message: 'redis://h down' });
  });
});

describe('error codes', () => {
  it('tells a trawl code from any other string', () => {
    expect(isErrorCode('TRAWL_ERR_SINK')).toBe(true);
    expect(isErrorCode('TRAWL_ERR_NOPE')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode(7)).toBe(false);
  });

  it('gives each error its class name and keeps the cause', () => {
    const cause = new Error('root');
    const error = new SinkError('write failed', { cause });
    expect(error).toBeInstanceOf(TrawlError);
    expect(error.name).toBe('SinkError');
    expect(error.cause).toBe(cause);
    expect(error.retryable).toBe(false);
  });
});
