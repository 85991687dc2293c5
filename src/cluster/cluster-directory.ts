import { toStagedoorError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type {
  Listing,
  NodeStatus,
  NodeView,
  SessionDirectory,
  StreamEntry,
} from '../sessions/session-directory.js';
import { nodeOfSessionId, type SessionSnapshot } from '../sessions/session.js';
import type { BusHandler, RedisNodeBus } from './redis/redis-node-bus.js';
import type { RedisNodeRegistry } from './redis/redis-node-registry.js';

/**
 * Every node's sessions and streams, seen from any node: a listing asks each live node (the node
 * registry in Redis says which) for its own, at once; a session id names its node, so `get` and
 * `kick` go straight to it. A node that cannot be asked is named in `nodes`, never filled in from
 * an old copy: there are no phantom sessions of a dead node.
 */
export class ClusterDirectory<S extends StreamEntry> implements SessionDirectory<S> {
  readonly #local: NodeView<S>;
  readonly #bus: Pick<RedisNodeBus, 'request'>;
  readonly #nodes: Pick<RedisNodeRegistry, 'live' | 'get'>;
  readonly #log: Logger;

  constructor(
    local: NodeView<S>,
    bus: Pick<RedisNodeBus, 'request'>,
    nodes: Pick<RedisNodeRegistry, 'live' | 'get'>,
    log: Logger,
  ) {
    this.#local = local;
    this.#bus = bus;
    this.#nodes = nodes;
    this.#log = log;
  }

  /** How this node answers the others' requests. */
  readonly handler: BusHandler = (op, arg) => {
    switch (op) {
      case 'sessions':
        return this.#local.sessions();
      case 'streams':
        return this.#local.streams();
      case 'session':
        return this.#local.session(String(arg)) ?? null;
      case 'kick':
        return this.#local.kick(String(arg)) ?? null;
      default:
        throw new Error(`unknown cluster request ${op}`);
    }
  };

  list(): Promise<Listing<SessionSnapshot>> {
    return this.#gather('sessions', () => this.#local.sessions());
  }

  streams(): Promise<Listing<S>> {
    return this.#gather('streams', () => this.#local.streams());
  }

  get(id: string): Promise<SessionSnapshot | undefined> {
    return this.#onOwner(id, 'session', () => this.#local.session(id));
  }

  kick(id: string): Promise<SessionSnapshot | undefined> {
    return this.#onOwner(id, 'kick', () => this.#local.kick(id));
  }

  /** Runs `op` on the node the id names: undefined when that node is gone (no node has it). */
  async #onOwner(
    id: string,
    op: 'session' | 'kick',
    here: () => SessionSnapshot | undefined,
  ): Promise<SessionSnapshot | undefined> {
    const owner = nodeOfSessionId(id);
    if (owner === undefined || owner === this.#local.node) return here();
    try {
      return (await this.#bus.request<SessionSnapshot | null>(owner, op, id)) ?? undefined;
    } catch (error) {
      // A node that has left (its entry lapsed) holds nothing any more; one still listed but
      // silent might: the caller is told it cannot be reached.
      if (toStagedoorError(error).code === 'NODE_UNREACHABLE' && !(await this.#nodes.get(owner)))
        return undefined;
      throw error;
    }
  }

  async #gather<T>(op: 'sessions' | 'streams', here: () => T[]): Promise<Listing<T>> {
    const self = this.#local.node;
    const own = here();
    const count = (n: number) => (op === 'sessions' ? { sessions: n } : { streams: n });
    const nodes: NodeStatus[] = [{ node: self, self: true, reachable: true, ...count(own.length) }];
    let live: string[];
    try {
      live = [...(await this.#nodes.live()).keys()].filter((node) => node !== self);
    } catch (error) {
      this.#log.warn({ err: error, event: 'directory_partial' }, 'listing this node only');
      nodes.push({
        node: '*',
        self: false,
        reachable: false,
        error: toStagedoorError(error).message,
      });
      return { items: own, nodes };
    }
    const answers = await Promise.allSettled(live.map((node) => this.#bus.request<T[]>(node, op)));
    const items = [...own];
    answers.forEach((answer, i) => {
      const node = live[i]!;
      if (answer.status === 'fulfilled') {
        items.push(...answer.value);
        nodes.push({ node, self: false, reachable: true, ...count(answer.value.length) });
      } else
        nodes.push({
          node,
          self: false,
          reachable: false,
          error: toStagedoorError(answer.reason).message,
        });
    });
    return { items, nodes };
  }
}
