/** Bytes of one protocol on one stream. */
export interface Traffic {
  protocol: string;
  stream: string;
  bytesIn: number;
  bytesOut: number;
}

/**
 * Byte counts that only grow: what ended sessions moved, kept per protocol and stream, plus what the
 * live sessions have moved so far. A session's bytes move from the live side to the ended side at its
 * end, so the sum never goes down.
 */
export class TrafficTotals {
  readonly #ended = new Map<string, Traffic>();

  addEnded(protocol: string, stream: string, bytes: { bytesIn: number; bytesOut: number }): void {
    const key = `${protocol} ${stream}`;
    let total = this.#ended.get(key);
    if (!total) this.#ended.set(key, (total = { protocol, stream, bytesIn: 0, bytesOut: 0 }));
    total.bytesIn += bytes.bytesIn;
    total.bytesOut += bytes.bytesOut;
  }

  /** The totals with the live sessions' bytes added. */
  withLive(live: readonly Traffic[]): Traffic[] {
    const sums = new Map<string, Traffic>();
    for (const t of [...this.#ended.values(), ...live]) {
      const key = `${t.protocol} ${t.stream}`;
      const sum = sums.get(key);
      if (sum) {
        sum.bytesIn += t.bytesIn;
        sum.bytesOut += t.bytesOut;
      } else sums.set(key, { ...t });
    }
    return [...sums.values()];
  }
}
