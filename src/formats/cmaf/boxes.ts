// ISO/IEC 14496-12 boxes written as byte arrays: a box is a size, a four-character type and its
// payload; a full box adds a version and 24 bits of flags. Everything here is big-endian.

/** A box around `payload`. */
export function box(type: string, ...payload: readonly Uint8Array[]): Buffer {
  let size = 8;
  for (const part of payload) size += part.length;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32BE(size, 0);
  out.write(type, 4, 4, 'latin1');
  let at = 8;
  for (const part of payload) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A full box: version and flags, then `payload`. */
export function fullBox(
  type: string,
  version: number,
  flags: number,
  ...payload: readonly Uint8Array[]
): Buffer {
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(((version & 0xff) << 24) | (flags & 0xffffff), 0);
  return box(type, head, ...payload);
}

/** Fixed-size big-endian fields, written in order. */
export class Fields {
  readonly #bytes: Buffer;
  #at = 0;

  constructor(size: number) {
    this.#bytes = Buffer.alloc(size);
  }

  u8(value: number): this {
    this.#bytes.writeUInt8(value, this.#at);
    this.#at += 1;
    return this;
  }

  u16(value: number): this {
    this.#bytes.writeUInt16BE(value, this.#at);
    this.#at += 2;
    return this;
  }

  i16(value: number): this {
    this.#bytes.writeInt16BE(value, this.#at);
    this.#at += 2;
    return this;
  }

  u24(value: number): this {
    this.#bytes.writeUIntBE(value, this.#at, 3);
    this.#at += 3;
    return this;
  }

  u32(value: number): this {
    this.#bytes.writeUInt32BE(value >>> 0, this.#at);
    this.#at += 4;
    return this;
  }

  i32(value: number): this {
    this.#bytes.writeInt32BE(value, this.#at);
    this.#at += 4;
    return this;
  }

  u64(value: number): this {
    this.#bytes.writeBigUInt64BE(BigInt(Math.round(value)), this.#at);
    this.#at += 8;
    return this;
  }

  /** `count` zero bytes. */
  zeros(count: number): this {
    this.#at += count;
    return this;
  }

  bytes(value: Uint8Array): this {
    this.#bytes.set(value, this.#at);
    this.#at += value.length;
    return this;
  }

  done(): Buffer {
    if (this.#at !== this.#bytes.length)
      throw new Error(`fields wrote ${this.#at} of ${this.#bytes.length} bytes`);
    return this.#bytes;
  }
}

/** The unity transformation matrix of mvhd and tkhd. */
export const UNITY_MATRIX = new Fields(36)
  .u32(0x00010000)
  .zeros(12)
  .u32(0x00010000)
  .zeros(12)
  .u32(0x40000000)
  .done();
