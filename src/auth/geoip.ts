import { createRequire } from 'node:module';

type Lookup = (address: string) => { country?: string } | null;

/**
 * Country of an address, from geoip-country (MaxMind GeoLite2 Country, IPv4 and IPv6): ~20 MB of
 * memory once loaded, so it is loaded the first time a token carries a country rule, never at start.
 */
export class GeoIp {
  #lookup: Lookup | undefined;
  #loading: Promise<Lookup> | undefined;

  get loaded(): boolean {
    return this.#lookup !== undefined;
  }

  /** Lower-case ISO 3166-1 alpha-2, or undefined when the address is not in the database. */
  async countryOf(address: string): Promise<string | undefined> {
    this.#loading ??= Promise.resolve().then(() => {
      const geoip = createRequire(import.meta.url)('geoip-country') as { lookup: Lookup };
      this.#lookup = (a) => geoip.lookup(a);
      return this.#lookup;
    });
    const lookup = this.#lookup ?? (await this.#loading);
    return lookup(address)?.country?.toLowerCase() || undefined;
  }
}
