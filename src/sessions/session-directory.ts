import type { SessionSnapshot } from './session.js';
import type { SessionRegistry } from './session-registry.js';

/**
 * What operators need to see and steer sessions, wherever they live: this node's registry today,
 * a cluster-wide directory later. Admin views read this port, never the registry itself.
 */
export interface SessionDirectory {
  list(): SessionSnapshot[];
  get(id: string): SessionSnapshot | undefined;
  /** Ends the session (`kicked`); false when no live session has this id. */
  kick(id: string): boolean;
}

/** The directory of one node: its own registry. */
export class LocalSessionDirectory implements SessionDirectory {
  readonly #registry: Pick<SessionRegistry, 'list' | 'get'>;

  constructor(registry: Pick<SessionRegistry, 'list' | 'get'>) {
    this.#registry = registry;
  }

  list(): SessionSnapshot[] {
    return this.#registry.list().map((s) => s.snapshot());
  }

  get(id: string): SessionSnapshot | undefined {
    return this.#registry.get(id)?.snapshot();
  }

  kick(id: string): boolean {
    const session = this.#registry.get(id);
    if (!session) return false;
    session.close('kicked');
    return true;
  }
}
