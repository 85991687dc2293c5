import { BlockList, isIP } from 'node:net';
import { normalizeAddress } from './address.js';

/** Builds a BlockList of addresses and CIDR ranges, IPv4 and IPv6. Throws TypeError on a bad entry. */
export function addressList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address);
    if (family === 0) throw new TypeError(`not an IP address or CIDR range: ${entry}`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) {
      list.addAddress(address, type);
    } else {
      const bits = Number(prefix);
      if (!/^\d{1,3}$/.test(prefix) || bits > (family === 4 ? 32 : 128))
        throw new TypeError(`bad prefix length in ${entry}`);
      list.addSubnet(address, bits, type);
    }
  }
  return list;
}

/** Is `address` in `list`? IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is checked as IPv4. */
export function listHas(list: BlockList, address: string): boolean {
  const plain = normalizeAddress(address);
  const family = isIP(plain);
  if (family === 0) return false;
  return list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The client's address: the socket peer, unless that peer is a trusted proxy, in which case the
 * right-most X-Forwarded-For entry that is not itself a trusted proxy. Untrusted peers cannot
 * choose their address by sending the header.
 */
export function clientAddress(
  remote: string | undefined,
  forwardedFor: string | string[] | undefined,
  trusted: BlockList | undefined,
): string {
  const peer = normalizeAddress(remote);
  if (!trusted || !forwardedFor || !listHas(trusted, peer)) return peer;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((h) => normalizeAddress(h.trim()))
    .filter((h) => isIP(h) !== 0);
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!listHas(trusted, hops[i]!)) return hops[i]!;
  }
  return hops[0] ?? peer;
}
