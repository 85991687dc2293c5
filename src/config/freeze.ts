/** A deep, frozen copy of a validated config: what the running server reads, and nothing changes it. */
export function freezeConfig<T>(config: T): Readonly<T> {
  return deepFreeze(structuredClone(config));
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
