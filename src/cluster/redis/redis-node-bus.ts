import { randomBytes } from 'node:crypto';
import { ERROR_CODES, StagedoorError, toStagedoorError, type ErrorCode } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { RedisConnection } from './redis-connection.js';

/** Answers the requests other nodes send this one (`op` names what they ask). */
export type BusHandler = (op: string, arg: unknown) => unknown;

interface Request {
  id: string;
  from: string;
  op: string;
  arg: unknown;
}

type Reply =
  | { id: string; ok: true; value: unknown }
  | { id: string; ok: false; code: string; message: string };

export interface RedisNodeBusOptions {
  node: string;
  /** A node that has not answered after this counts as unreachable (NODE_UNREACHABLE). */
  timeoutMs: number;
  log: Logger;
}

/**
 * Requests from one node to another through Redis: published on the target's channel
 * `bus:<node>`, answered on the asker's `bus-reply:<node>`. A node nobody listens for (it died,
 * or never was) is known at once (PUBLISH reaches no subscriber); one that does not answer in
 * time, after `timeoutMs`. Both are NODE_UNREACHABLE; Redis away is CLUSTER_UNAVAILABLE.
 */
export class RedisNodeBus {
  readonly #redis: RedisConnection;
  readonly #options: RedisNodeBusOptions;
  readonly #pending = new Map<
    string,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();

  constructor(redis: RedisConnection, options: RedisNodeBusOptions) {
    this.#redis = redis;
    this.#options = options;
  }

  get node(): string {
    return this.#options.node;
  }

  /** Starts answering other nodes with `handler`, and hearing the answers to this node's requests. */
  async start(handler: BusHandler): Promise<void> {
    const { node, log } = this.#options;
    await this.#redis.subscribe(`bus-reply:${node}`, (message) => this.#onReply(message));
    await this.#redis.subscribe(`bus:${node}`, (message) => {
      let request: Request;
      try {
        request = JSON.parse(message) as Request;
      } catch {
        log.warn({ event: 'bus_message_invalid' }, 'ignored a malformed cluster request');
        return;
      }
      void this.#answer(request, handler);
    });
  }

  /** Asks `node` to do `op`; resolves with its answer, or throws its coded error. */
  async request<T>(node: string, op: string, arg?: unknown): Promise<T> {
    const id = randomBytes(9).toString('base64url');
    const message = JSON.stringify({ id, from: this.#options.node, op, arg } satisfies Request);
    const answer = new Promise<unknown>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      const heard = await this.#redis.command<number>([
        'PUBLISH',
        this.#redis.key(`bus:${node}`),
        message,
      ]);
      if (heard === 0)
        throw new StagedoorError('NODE_UNREACHABLE', `node ${node} is not in the cluster`);
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new StagedoorError(
                'NODE_UNREACHABLE',
                `node ${node} did not answer within ${this.#options.timeoutMs} ms`,
              ),
            ),
          this.#options.timeoutMs,
        );
      });
      return (await Promise.race([answer, timeout])) as T;
    } finally {
      clearTimeout(timer);
      this.#pending.delete(id);
    }
  }

  async #answer(request: Request, handler: BusHandler): Promise<void> {
    let reply: Reply;
    try {
      reply = { id: request.id, ok: true, value: await handler(request.op, request.arg) };
    } catch (error) {
      const coded = toStagedoorError(error);
      reply = { id: request.id, ok: false, code: coded.code, message: coded.message };
    }
    await this.#redis
      .publish(`bus-reply:${request.from}`, JSON.stringify(reply))
      .catch((error: unknown) =>
        this.#options.log.warn(
          { err: error, op: request.op, to: request.from },
          'could not answer a cluster request',
        ),
      );
  }

  #onReply(message: string): void {
    let reply: Reply;
    try {
      reply = JSON.parse(message) as Reply;
    } catch {
      return;
    }
    const pending = this.#pending.get(reply.id);
    if (!pending) return; // answered after its time-out
    if (reply.ok) pending.resolve(reply.value);
    else {
      const code = (reply.code in ERROR_CODES ? reply.code : 'INTERNAL_ERROR') as ErrorCode;
      pending.reject(new StagedoorError(code, reply.message));
    }
  }
}
