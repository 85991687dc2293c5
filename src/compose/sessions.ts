import type { Logger } from '../log/logger.js';
import { SessionRegistry } from '../sessions/session-registry.js';
import { Enforcer } from '../sessions/enforcer.js';
import type { AuthArea } from './auth.js';
import type { ClusterArea } from './cluster.js';
import type { Component } from './lifecycle.js';

export interface SessionsArea {
  registry: SessionRegistry;
  components: Component[];
}

/** The registry of live sessions, and the enforcer that cuts them when trust changes, whatever its source. */
export function buildSessions(
  log: Logger,
  auth: AuthArea,
  cluster: Pick<ClusterArea, 'nodeId' | 'directory'>,
): SessionsArea {
  // In a cluster, session ids name their node (`s_…@<node>`): any node can route a kick to it.
  const node = { name: cluster.nodeId, inIds: cluster.directory !== undefined };
  const registry = new SessionRegistry(log.child({ component: 'sessions' }), Date.now, node);
  const enforcer = new Enforcer(registry, auth.authenticator, log.child({ component: 'enforcer' }));
  auth.revocations.onAdd((revocation) =>
    enforcer.review({ trigger: 'revocation', id: revocation.id }),
  );
  auth.security.onChange((_rule, match) => enforcer.review({ trigger: 'stream-security', match }));
  auth.issuers.onKeysRetired((issuer, kids) =>
    enforcer.review({ trigger: 'issuer-keys-retired', issuer, kids }),
  );
  // Stopped first (started last): every session ends `shutdown` before the listeners close.
  const shutdown: Component = { name: 'sessions', stop: () => void registry.closeAll('shutdown') };
  return { registry, components: [shutdown] };
}
