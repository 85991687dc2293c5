import type { SessionRegistry } from '../../sessions/session-registry.js';
import type { NodeView } from '../../sessions/session-directory.js';
import type { SessionSnapshot } from '../../sessions/session.js';
import { describeStreams, type StreamView, type StreamViewSources } from './stream-views.js';

/** What this node answers about itself: its registry's sessions, its hub's streams. */
export class LocalNodeView implements NodeView<StreamView> {
  readonly node: string;
  readonly #registry: Pick<SessionRegistry, 'list' | 'get'>;
  readonly #sources: StreamViewSources;

  constructor(registry: Pick<SessionRegistry, 'list' | 'get'>, sources: StreamViewSources) {
    this.node = sources.node;
    this.#registry = registry;
    this.#sources = sources;
  }

  sessions(): SessionSnapshot[] {
    return this.#registry.list().map((s) => s.snapshot());
  }

  session(id: string): SessionSnapshot | undefined {
    return this.#registry.get(id)?.snapshot();
  }

  kick(id: string): SessionSnapshot | undefined {
    const session = this.#registry.get(id);
    if (!session) return undefined;
    const snapshot = session.snapshot();
    session.close('kicked');
    return snapshot;
  }

  streams(): StreamView[] {
    return describeStreams(this.#sources, this.sessions());
  }
}
