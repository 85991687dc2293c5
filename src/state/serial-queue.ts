/**
 * Runs async changes one after another, so each reads the state the previous one saved (two
 * overlapping read-modify-save changes would otherwise lose one of them). A failed change does
 * not stop the ones after it.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(change: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(change, change);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
