import { isIP } from 'node:net';

/** `::ffff:127.0.0.1` → `127.0.0.1`: one spelling per client address, without the port. */
export function normalizeAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * An address in network byte order (4 bytes IPv4, 16 bytes IPv6; IPv4-mapped IPv6 as IPv4), as
 * `inet_pton` writes it; undefined for anything that is not an address.
 */
export function addressBytes(address: string): Buffer | undefined {
  const plain = normalizeAddress(address);
  const family = isIP(plain);
  if (family === 4) return Buffer.from(plain.split('.').map(Number));
  if (family !== 6) return undefined;
  // A trailing dotted quad (`::1.2.3.4`) is two groups.
  let text = plain.replace(/%.*$/, '');
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const out = Buffer.alloc(16);
  all.forEach((group, i) => out.writeUInt16BE(parseInt(group, 16), i * 2));
  return out;
}
