/** `::ffff:127.0.0.1` → `127.0.0.1`: one spelling per client address, without the port. */
export function normalizeAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
