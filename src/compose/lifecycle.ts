/**
 * One part of the server with a lifecycle. The wiring keeps them in a list, starts them in order and
 * stops them in reverse (as hls.js keeps its components in lists and stops them by iterating).
 */
export interface Component {
  readonly name: string;
  start?(): Promise<void>;
  /** Begins stopping at once (refuse new work, close what is open); resolves when it is done. */
  stop(): Promise<void> | void;
}

export async function startAll(components: readonly Component[]): Promise<void> {
  for (const component of components) await component.start?.();
}

/**
 * Stops in reverse order: each component begins stopping as soon as the one started after it has
 * begun (so sessions are cut before listeners close), then all are awaited together.
 */
export async function stopAll(components: readonly Component[]): Promise<void> {
  const stopping: Array<Promise<void>> = [];
  for (const component of [...components].reverse())
    stopping.push(Promise.resolve(component.stop()));
  await Promise.all(stopping);
}
