import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { StagedoorError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { JsonStateFile } from '../state/json-state-file.js';
import { SerialQueue } from '../state/serial-queue.js';
import { FileListStore, arrayOf } from '../state/file-list-store.js';
import { formatStreamPath, type StreamPath } from '../core/stream-path.js';

/** How an ingest key looks: short enough for any RTMP client's URL limit, long enough to guess never. */
const KEY_PATTERN = /^sk_[A-Za-z0-9_-]{32}$/;
const MAX_KEYS = 10_000;

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
}

const idOf = (key: string): string =>
  createHash('sha256').update(`stagedoor ingest key id\0${key}`).digest('hex');
const sealingKey = (key: string): Buffer =>
  createHash('sha256').update(`stagedoor ingest key seal\0${key}`).digest();

/** A stored entry that reads as an ingest key (anything else is dropped on load). */
export function isStoredKey(v: unknown): v is StoredKey {
  const k = v as Partial<StoredKey> | null;
  return (
    typeof k?.id === 'string' &&
    typeof k.stream === 'string' &&
    typeof k.expiresAt === 'number' &&
    typeof k.sealed === 'string'
  );
}

/** What changed among the keys: one issued, and the ones dropped (lapsed, or the oldest past the cap). */
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
  /** Calls `listener` when another node issued a key. */
  onRemoteChange?(listener: () => void): void;
}

/** Ingest keys in this node's state file. */
export class FileIngestKeyStore
  extends FileListStore<StoredKey, IngestKeyChange>
  implements IngestKeyStore
{
  constructor(file: JsonStateFile<StoredKey[]>) {
    super(file, arrayOf('ingest keys', isStoredKey));
  }
}

function seal(key: string, token: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(key), iv);
  const body = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url')).join('.');
}

function unseal(key: string, sealed: string): string | undefined {
  const [iv, tag, body] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
  if (!iv || !tag || !body) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', sealingKey(key), iv);
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
 */
export class IngestKeys {
  #keys = new Map<string, StoredKey>();
  readonly #store: IngestKeyStore;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #changes = new SerialQueue();

  private constructor(store: IngestKeyStore, log: Logger, now: () => number) {
    this.#store = store;
    this.#log = log;
    this.#now = now;
  }

  static async create(
    store: IngestKeyStore,
    log: Logger,
    now: () => number = Date.now,
  ): Promise<IngestKeys> {
    const keys = new IngestKeys(store, log, now);
    keys.#take(await store.load());
    store.onRemoteChange?.(() => void keys.#changes.run(() => keys.#reload()));
    return keys;
  }

  #take(entries: readonly StoredKey[]): void {
    const t = this.#now();
    this.#keys = new Map(entries.filter((e) => e.expiresAt > t).map((e) => [e.id, e]));
  }

  /** Another node issued a key: take the shared list (a key there publishes here too). */
  async #reload(): Promise<void> {
    try {
      this.#take(await this.#store.load());
    } catch (error) {
      this.#log.error({ err: error }, 'ingest keys changed elsewhere, but cannot be read');
    }
  }

  get size(): number {
    return this.#keys.size;
  }

  /** Issues a key for an already admitted token (with exp) and stream; persisted before it is returned. */
  issue(token: string, stream: StreamPath, expiresAt: number): Promise<string> {
    return this.#changes.run(async () => {
      const key = `sk_${randomBytes(24).toString('base64url')}`;
      const now = this.#now();
      const next = new Map([...this.#keys].filter(([, e]) => e.expiresAt > now));
      // Bounded: past MAX_KEYS live keys the oldest goes (its publisher can exchange its token again).
      while (next.size >= MAX_KEYS) next.delete(next.keys().next().value as string);
      const entry: StoredKey = {
        id: idOf(key),
        stream: formatStreamPath(stream),
        expiresAt,
        sealed: seal(key, token),
      };
      next.set(entry.id, entry);
      const removed = [...this.#keys.keys()].filter((id) => !next.has(id));
      await this.#store.save({ added: entry, removed }, [...next.values()]);
      this.#keys = next;
      this.#log.info(
        {
          event: 'ingest_key_issued',
          stream: entry.stream,
          expiresAt: new Date(expiresAt).toISOString(),
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
