import { connect } from 'node:net';

/** Sends bytes as they are (no URL normalisation) and returns the raw answer. */
export function rawHttp(port: number, text: string, waitMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.on('connect', () => socket.write(text));
  });
}

export const rawGet = (port: number, path: string, waitMs?: number): Promise<string> =>
  rawHttp(port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, waitMs);

/** Polls until `fn` returns a value. */
export async function eventually<T>(
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(
    `condition not met in ${timeoutMs} ms${lastError ? `: ${String(lastError)}` : ''}`,
  );
}
