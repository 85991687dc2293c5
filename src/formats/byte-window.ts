/**
 * The bytes of a stream a scanner has not read yet, and where they sit in the stream. Payloads
 * the scanner does not need are skipped as they pass, so only headers are ever held.
 */
export class ByteWindow {
  /** Unread bytes. */
  bytes: Buffer = Buffer.alloc(0);
  /** Stream offset of `bytes[0]`. */
  offset = 0;
  #skip = 0;

  /** Adds a chunk, then passes over what is still to be skipped; false while that is not done. */
  append(chunk: Buffer): boolean {
    this.bytes = this.bytes.length > 0 ? Buffer.concat([this.bytes, chunk]) : chunk;
    return this.#skipPending();
  }

  consume(n: number): void {
    this.bytes = this.bytes.subarray(n);
    this.offset += n;
  }

  /** Consumes `header` bytes now and `payload` more as they arrive; false while that is not done. */
  skip(header: number, payload: number): boolean {
    this.consume(header);
    this.#skip = payload;
    return this.#skipPending();
  }

  /** Waits for more bytes: keeps the few unread ones, not the whole chunk they came in. */
  hold(): void {
    this.bytes = Buffer.from(this.bytes);
  }

  #skipPending(): boolean {
    const n = Math.min(this.#skip, this.bytes.length);
    this.consume(n);
    this.#skip -= n;
    return this.#skip === 0;
  }
}
