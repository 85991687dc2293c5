import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { StagedoorError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { SerialQueue } from '../state/serial-queue.js';
import type { JournalStore } from '../state/journal-store.js';
import type { ReadEntry } from '../state/stored-entries.js';
import { formatStreamPath, type StreamPath } from '../core/stream-path.js';

/** How an ingest key looks: short enough for any RTMP client's URL limit, long enough to guess never. */
const KEY_PATTERN = /^sk_[A-Za-z0-9_-]{32}$/;

/** A token is probably cut when it is refused as malformed at about the length RTMP clients cut URLs at. */
export function cutTokenHint(stream: StreamPath, tokenLength: number): string {
  return `the token is malformed; at ${tokenLength} characters it was probably cut by the client's RTMP URL limit (about 1,024 characters in FFmpeg and OBS): exchange it for a short ingest key with POST /ingest-keys/${stream.app}/${stream.name} and publish with ${stream.name}?key=sk_…`;
}

/** One stored key: the token sealed with the key itself, so the state file alone opens nothing. */
export interface StoredKey {
  /** SHA-256 of the key (hex): how a presented key is found. */
  id: string;
  stream: string;
  /** ms since epoch: the token's exp. */
  expiresAt: number;
  /** AES-256-GCM of the token under a key derived from the ingest key: iv.tag.ciphertext, base64url. */
  sealed: string;
  /**
   * SHA-256 of the token's identity and the stream: the same token exchanged again for the same
   * stream finds its key (one key per token and stream, however often, however encoded).
   */
  ref?: string;
  /** The ingest key sealed under the token: what that exchange answers (only the token opens it). */
  sealedKey?: string;
}

const idOf = (key: string): string =>
  createHash('sha256').update(`stagedoor ingest key id\0${key}`).digest('hex');
/**
 * The token's identity (its grant's tokenId: the jti, or a hash of what its signature covers) and the
 * stream: copies of one token that differ only in encoding find the same entry.
 */
const refOf = (tokenId: string, stream: string): string =>
  createHash('sha256').update(`stagedoor ingest key ref id\0${stream}\0${tokenId}`).digest('hex');
/** The ref written before this release, keyed by the token string itself: still found, never written. */
const legacyRefOf = (token: string, stream: string): string =>
  createHash('sha256').update(`stagedoor ingest key ref\0${stream}\0${token}`).digest('hex');
const sealingKey = (secret: string, purpose: 'seal' | 'key seal'): Buffer =>
  createHash('sha256').update(`stagedoor ingest key ${purpose}\0${secret}`).digest();

/** A stored entry as an ingest key, or why it is not one (it is then left out, and logged). */
export function readStoredKey(v: unknown): ReadEntry<StoredKey> {
  const k = v as Partial<Record<keyof StoredKey, unknown>> | null;
  if (typeof k !== 'object' || k === null) return { dropped: 'not an object' };
  for (const field of ['id', 'stream', 'sealed'] as const)
    if (typeof k[field] !== 'string') return { dropped: `${field} is not a string` };
  if (typeof k.expiresAt !== 'number' || !Number.isFinite(k.expiresAt))
    return { dropped: `expiresAt ${JSON.stringify(k.expiresAt)} is not a time in ms` };
  const entry: StoredKey = {
    id: k.id as string,
    stream: k.stream as string,
    expiresAt: k.expiresAt,
    sealed: k.sealed as string,
  };
  if (typeof k.ref === 'string' && typeof k.sealedKey === 'string') {
    entry.ref = k.ref;
    entry.sealedKey = k.sealedKey;
  }
  return { entry };
}

/** What changed among the keys: one issued, and the ones dropped (lapsed, or replaced). */
export interface IngestKeyChange {
  added: StoredKey;
  removed: readonly string[];
}

/**
 * Where ingest keys are kept: this node's state file, or a store every node of a cluster shares
 * (so a key exchanged on one node publishes on any).
 */
export interface IngestKeyStore {
  load(): Promise<StoredKey[]>;
  save(change: IngestKeyChange, all: readonly StoredKey[]): Promise<void>;
  /** Lets go of what it holds open (a journal's file). */
  close?(): Promise<void>;
  /**
   * Calls `listener` to re-read when another node changed the keys (and whenever this node may
   * have missed a change); the store tries again while the listener's promise rejects.
   */
  onRemoteChange?(listener: () => Promise<void>): void;
}

/**
 * Ingest keys in this node's state directory, in a journal: an exchange appends one line, whatever
 * the number of keys (an older `ingest-keys.json` is taken over on the first start).
 */
export class FileIngestKeyStore implements IngestKeyStore {
  readonly #journal: JournalStore<StoredKey>;

  constructor(journal: JournalStore<StoredKey>) {
    this.#journal = journal;
  }

  load(): Promise<StoredKey[]> {
    return this.#journal.load();
  }

  save(change: IngestKeyChange, all: readonly StoredKey[]): Promise<void> {
    return this.#journal.save([change.added], change.removed, all);
  }

  close(): Promise<void> {
    return this.#journal.close();
  }
}

function seal(secret: string, plain: string, purpose: 'seal' | 'key seal' = 'seal'): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(secret, purpose), iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url')).join('.');
}

function unseal(
  secret: string,
  sealed: string,
  purpose: 'seal' | 'key seal' = 'seal',
): string | undefined {
  const [iv, tag, body] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
  if (!iv || !tag || !body) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', sealingKey(secret, purpose), iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/**
 * Short ingest keys for publishers whose token is too long for an RTMP URL (FFmpeg and OBS cut at
 * about 1,024 characters). A key stands for the token it was exchanged for, for one stream, until
 * the token's exp: whoever presents it is checked exactly as if the token itself had been sent
 * (signature and key trust, revocation of its jti or sub, scopes, the stream's rule), so revoking the
 * token or removing its key disables the key too. Keys are stored only as hashes; the token is kept
 * sealed under the key, so the state file alone reveals neither. Kept under `stateDir` across restarts,
 * or in Redis for a cluster (a key exchanged on one node publishes on any).
 *
 * Bounded per token and in all: the same token exchanged again for the same stream gets the same key
 * back (it is kept sealed under the token), and once `maxKeys` live keys are held a new exchange is
 * refused (INGEST_KEYS_FULL, with when the first one lapses) — never another publisher's key evicted.
 */
export class IngestKeys {
  #keys = new Map<string, StoredKey>();
  /** ref (token and stream) → its key's id. */
  #byRef = new Map<string, string>();
  readonly #store: IngestKeyStore;
  readonly #log: Logger;
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #changes = new SerialQueue();

  private constructor(store: IngestKeyStore, log: Logger, maxKeys: number, now: () => number) {
    this.#store = store;
    this.#log = log;
    this.#maxKeys = maxKeys;
    this.#now = now;
  }

  static async create(
    store: IngestKeyStore,
    log: Logger,
    options: { maxKeys?: number; now?: () => number } = {},
  ): Promise<IngestKeys> {
    const keys = new IngestKeys(store, log, options.maxKeys ?? 10_000, options.now ?? Date.now);
    keys.#take(await store.load());
    store.onRemoteChange?.(() => keys.#changes.run(() => keys.#reload()));
    return keys;
  }

  #take(entries: readonly StoredKey[]): void {
    const t = this.#now();
    this.#keys = new Map(entries.filter((e) => e.expiresAt > t).map((e) => [e.id, e]));
    this.#byRef = new Map();
    for (const entry of this.#keys.values())
      if (entry.ref !== undefined) this.#byRef.set(entry.ref, entry.id);
  }

  /** Another node changed the keys: take the shared list (a key there publishes here too). */
  async #reload(): Promise<void> {
    this.#take(await this.#store.load());
  }

  get size(): number {
    return this.#keys.size;
  }

  /** Waits for a change in progress, then closes the store. */
  close(): Promise<void> {
    return this.#changes.run(async () => {
      await this.#store.close?.();
    });
  }

  /**
   * The key for an already admitted token (with exp) and stream: the one it was given before, or a
   * new one, persisted before it is returned. INGEST_KEYS_FULL when `maxKeys` live keys are held.
   */
  issue(token: string, tokenId: string, stream: StreamPath, expiresAt: number): Promise<string> {
    return this.#changes.run(async () => {
      const now = this.#now();
      const streamName = formatStreamPath(stream);
      const ref = refOf(tokenId, streamName);
      const earlier = this.#keys.get(
        this.#byRef.get(ref) ?? this.#byRef.get(legacyRefOf(token, streamName)) ?? '',
      );
      if (earlier?.sealedKey !== undefined && earlier.expiresAt > now) {
        const key = unseal(token, earlier.sealedKey, 'key seal');
        if (key !== undefined && idOf(key) === earlier.id) return key;
      }
      const lapsed = [...this.#keys.values()].filter((e) => e.expiresAt <= now).map((e) => e.id);
      const removed = earlier ? [...new Set([...lapsed, earlier.id])] : lapsed;
      const live = this.#keys.size - removed.length;
      if (live >= this.#maxKeys) {
        const soonest = Math.min(...[...this.#keys.values()].map((e) => e.expiresAt));
        throw new StagedoorError(
          'INGEST_KEYS_FULL',
          `${live} ingest keys are held, the most this server keeps (auth.ingestKeys.maxKeys); the first lapses at ${new Date(soonest).toISOString()}`,
          { retryAfterSec: Math.min(3600, (soonest - now) / 1000) },
        );
      }
      const key = `sk_${randomBytes(24).toString('base64url')}`;
      const entry: StoredKey = {
        id: idOf(key),
        stream: streamName,
        expiresAt,
        sealed: seal(key, token),
        ref,
        sealedKey: seal(token, key, 'key seal'),
      };
      const next = new Map(this.#keys);
      for (const id of removed) next.delete(id);
      next.set(entry.id, entry);
      await this.#store.save({ added: entry, removed }, [...next.values()]);
      this.#take([...next.values()]);
      this.#log.info(
        {
          event: 'ingest_key_issued',
          stream: entry.stream,
          expiresAt: new Date(expiresAt).toISOString(),
          live: next.size,
        },
        'ingest key issued',
      );
      return key;
    });
  }

  /** The token an ingest key stands for, on its own stream; INGEST_KEY_UNKNOWN otherwise. */
  tokenFor(key: string, stream: StreamPath): string {
    const entry = KEY_PATTERN.test(key) ? this.#keys.get(idOf(key)) : undefined;
    if (!entry || entry.expiresAt <= this.#now()) throw new StagedoorError('INGEST_KEY_UNKNOWN');
    if (entry.stream !== formatStreamPath(stream))
      throw new StagedoorError('STREAM_DENIED', 'this ingest key is for another stream');
    const token = unseal(key, entry.sealed);
    if (token === undefined) throw new StagedoorError('INGEST_KEY_UNKNOWN');
    return token;
  }
}
