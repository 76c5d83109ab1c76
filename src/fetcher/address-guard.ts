import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { BlockedAddressError } from '../errors.js';

/** Why an address is not on the public internet; `public` when it is. */
export type AddressClass =
  'public' | 'private' | 'loopback' | 'link-local' | 'multicast' | 'unspecified' | 'reserved';

/** Same shape as `dns.lookup`, so tests can map made-up hostnames to loopback addresses. */
export type LookupFunction = (
  hostname: string,
  options: { all?: boolean; family?: number | string; hints?: number },
  callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
) => void;

const V4_RANGES: Array<[string, number, AddressClass]> = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'private'], // carrier-grade NAT
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'], // includes cloud metadata at 169.254.169.254
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'], // benchmarking
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'], // includes 255.255.255.255
];

const V6_RANGES: Array<[string, number, AddressClass]> = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fc00::', 7, 'private'], // unique local
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'private'], // deprecated site-local
  ['ff00::', 8, 'multicast'],
  ['64:ff9b:1::', 48, 'private'], // local-use NAT64
];

/** Classifies an IPv4 or IPv6 address; IPv4-mapped and NAT64 IPv6 forms are judged as IPv4. */
export function classifyAddress(address: string): AddressClass {
  const v4 = embeddedV4(address);
  if (v4) return classifyV4(v4);
  if (!isIPv6(address)) return 'reserved';
  for (const [network, prefix, kind] of V6_RANGES) {
    const range = new BlockList();
    range.addSubnet(network, prefix, 'ipv6');
    if (range.check(address, 'ipv6')) return kind;
  }
  return 'public';
}

function classifyV4(address: string): AddressClass {
  const n = v4ToInt(address);
  if (n === undefined) return 'reserved';
  for (const [network, prefix, kind] of V4_RANGES) {
    const base = v4ToInt(network)!;
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    if ((n & mask) >>> 0 === base) return kind;
  }
  return 'public';
}

function v4ToInt(address: string): number | undefined {
  const parts = address.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    n = n * 256 + Number(part);
  }
  return n;
}

/** The IPv4 address inside `::ffff:a.b.c.d`, `::ffff:xxxx:xxxx` or `64:ff9b::a.b.c.d`, or the address itself if IPv4. */
function embeddedV4(address: string): string | undefined {
  if (v4ToInt(address) !== undefined) return address;
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const hi = Number.parseInt(hex[1]!, 16);
    const lo = Number.parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return undefined;
}

export interface AddressGuardOptions {
  /** true: every address; false: public only; a list: public plus these addresses or CIDR ranges. */
  allowPrivate: boolean | string[];
  /** @default dns.lookup */
  lookup?: LookupFunction;
}

/**
 * Refuses connections to non-public addresses. The check runs on the address DNS returned, inside
 * the socket's own lookup, so a hostname that resolves to 10.0.0.1 (or re-resolves to it later)
 * is caught where it is about to be used, not in a separate check that could disagree.
 */
export class AddressGuard {
  readonly lookup: LookupFunction;
  private readonly allowAll: boolean;
  private readonly allowed = new BlockList();

  constructor(options: AddressGuardOptions) {
    const base = options.lookup ?? (dnsLookup as unknown as LookupFunction);
    this.allowAll = options.allowPrivate === true;
    if (Array.isArray(options.allowPrivate))
      for (const entry of options.allowPrivate) allow(this.allowed, entry);
    this.lookup = (hostname, lookupOptions, callback) => {
      base(hostname, { ...lookupOptions, all: true }, (error, result) => {
        if (error) return callback(error, '');
        const addresses = (result as LookupAddress[]).filter((a) => this.permits(a.address));
        if (addresses.length === 0) {
          const first = (result as LookupAddress[])[0]?.address ?? 'no address';
          return callback(new BlockedAddressError(hostname, first, classifyAddress(first)), '');
        }
        if (lookupOptions.all) return callback(null, addresses);
        callback(null, addresses[0]!.address, addresses[0]!.family);
      });
    };
  }

  /** Whether a connection to this resolved address is allowed. */
  permits(address: string): boolean {
    if (this.allowAll) return true;
    if (classifyAddress(address) === 'public') return true;
    return this.allowed.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
  }

  /**
   * The check for a URL before it is requested. A literal IP is judged here because the socket
   * skips DNS for it; a hostname is judged at connect time by `lookup`.
   */
  checkUrl(url: URL): void {
    const host = literalHost(url.hostname);
    if (host && !this.permits(host)) throw new BlockedAddressError(url.hostname, host, classifyAddress(host));
  }

  /** Resolves and checks a hostname now; used when a proxy does the real DNS lookup. */
  async checkResolved(url: URL): Promise<void> {
    this.checkUrl(url);
    if (literalHost(url.hostname)) return;
    await new Promise<void>((resolve, reject) =>
      this.lookup(url.hostname, { all: true }, (error) => (error ? reject(error) : resolve())),
    );
  }

  /** `checkResolved` as a verdict, for a browser's sub-request, which is refused rather than thrown. */
  resolvesAllowed(url: URL): Promise<boolean> {
    return this.checkResolved(url).then(
      () => true,
      () => false,
    );
  }
}

/** The IP in a URL hostname (IPv6 without brackets), or undefined for a DNS name. */
function literalHost(hostname: string): string | undefined {
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  return isIPv4(bare) || isIPv6(bare) ? bare : undefined;
}

/** Adds `10.0.0.5` or `10.0.0.0/8` (IPv4 or IPv6) to an allow list. */
function allow(list: BlockList, entry: string): void {
  const [address = '', prefix] = entry.split('/');
  const type = isIPv6(address) ? 'ipv6' : 'ipv4';
  if (prefix === undefined) list.addAddress(address, type);
  else list.addSubnet(address, Number(prefix), type);
}

/**
 * Whether any start URL sits on a non-public address, which makes the crawl allowed to reach
 * private addresses by default (a crawl of an intranet or of a local test server).
 */
export async function startsOnPrivateNetwork(urls: string[], lookup?: LookupFunction): Promise<boolean> {
  const guard = new AddressGuard({ allowPrivate: false, ...(lookup ? { lookup } : {}) });
  const hosts = new Set(urls.map((u) => new URL(u).hostname));
  for (const host of hosts) {
    const literal = literalHost(host);
    if (literal) {
      if (!guard.permits(literal)) return true;
      continue;
    }
    const blocked = await new Promise<boolean>((resolve) =>
      guard.lookup(host, { all: true }, (error) => resolve(error instanceof BlockedAddressError)),
    );
    if (blocked) return true;
  }
  return false;
}
