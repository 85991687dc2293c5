import type { SessionSnapshot } from './session.js';

/** A live stream as one node describes it (the admin stream view); `stream` and `node` say which. */
export interface StreamEntry {
  stream: string;
  node: string;
}

/** One node as a listing reached it: answered, or could not be asked (its entries are missing). */
export interface NodeStatus {
  node: string;
  /** This node, the one that answered the admin request. */
  self: boolean;
  reachable: boolean;
  sessions?: number | undefined;
  streams?: number | undefined;
  /** Why it could not be asked (no answer in time, Redis away). */
  error?: string | undefined;
}

/** What a listing found, and from which nodes: a node that could not be asked is named, not hidden. */
export interface Listing<T> {
  items: T[];
  nodes: NodeStatus[];
}

/**
 * What operators see and steer, wherever it lives: this node's sessions and streams, or every
 * node's in a cluster. Asynchronous because a cluster asks the other nodes. Admin views read this
 * port, never the registry itself.
 */
export interface SessionDirectory<S extends StreamEntry = StreamEntry> {
  list(): Promise<Listing<SessionSnapshot>>;
  /** The session with this id on whichever node holds it; undefined when none does. */
  get(id: string): Promise<SessionSnapshot | undefined>;
  /**
   * Ends the session (`kicked`) on the node that holds it, answered once it is cut; undefined when
   * no live session has this id; CLUSTER_UNAVAILABLE when its node cannot be asked.
   */
  kick(id: string): Promise<SessionSnapshot | undefined>;
  /** The live streams, each described by the node its publisher is on. */
  streams(): Promise<Listing<S>>;
}

/** What one node answers about itself: the source of every directory, local or cluster-wide. */
export interface NodeView<S extends StreamEntry = StreamEntry> {
  readonly node: string;
  sessions(): SessionSnapshot[];
  session(id: string): SessionSnapshot | undefined;
  /** Cuts the session (`kicked`); its snapshot as it was, or undefined when none has this id. */
  kick(id: string): SessionSnapshot | undefined;
  streams(): S[];
}

/** The directory of one node: what its own view answers. */
export class LocalSessionDirectory<S extends StreamEntry> implements SessionDirectory<S> {
  readonly #view: NodeView<S>;

  constructor(view: NodeView<S>) {
    this.#view = view;
  }

  async list(): Promise<Listing<SessionSnapshot>> {
    const items = this.#view.sessions();
    return { items, nodes: [this.#status({ sessions: items.length })] };
  }

  async get(id: string): Promise<SessionSnapshot | undefined> {
    return this.#view.session(id);
  }

  async kick(id: string): Promise<SessionSnapshot | undefined> {
    return this.#view.kick(id);
  }

  async streams(): Promise<Listing<S>> {
    const items = this.#view.streams();
    return { items, nodes: [this.#status({ streams: items.length })] };
  }

  #status(counts: Pick<NodeStatus, 'sessions' | 'streams'>): NodeStatus {
    return { node: this.#view.node, self: true, reachable: true, ...counts };
  }
}
