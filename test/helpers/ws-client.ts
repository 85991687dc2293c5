import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

export interface WsOutcome {
  /** HTTP status when the upgrade was refused. */
  refusedStatus?: number;
  refusedBody?: { error: { code: string; message: string } };
  closeCode?: number;
  closeReason?: string;
  closedAt?: number;
  messages: Array<Record<string, unknown>>;
}

/** Opens a publishing WebSocket; resolves once it is open or refused. */
export function openPublisher(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ ws: WebSocket | undefined; outcome: WsOutcome; closed: Promise<WsOutcome> }> {
  const outcome: WsOutcome = { messages: [] };
  const ws = new WebSocket(url, { headers });
  const closed = new Promise<WsOutcome>((resolve) => {
    ws.on('close', (code, reason) => {
      outcome.closeCode = code;
      outcome.closeReason = reason.toString();
      outcome.closedAt = Date.now();
      resolve(outcome);
    });
  });
  ws.on('message', (data, isBinary) => {
    if (!isBinary) outcome.messages.push(JSON.parse(data.toString()) as Record<string, unknown>);
  });
  return new Promise((resolve) => {
    ws.on('open', () => resolve({ ws, outcome, closed }));
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        outcome.refusedStatus = res.statusCode;
        outcome.refusedBody = JSON.parse(body) as WsOutcome['refusedBody'];
        resolve({ ws: undefined, outcome, closed: Promise.resolve(outcome) });
      });
    });
    ws.on('error', () => {});
  });
}

/** Sends a media file over the socket in real time: `seconds` of media in 100 ms slices. */
export async function sendPaced(
  ws: WebSocket,
  file: string,
  seconds: number,
  { speed = 1 } = {},
): Promise<void> {
  const bytes = readFileSync(file);
  const slices = Math.max(1, Math.round(seconds * 10));
  const size = Math.ceil(bytes.length / slices);
  const started = Date.now();
  for (let i = 0; i < slices && ws.readyState === ws.OPEN; i++) {
    ws.send(bytes.subarray(i * size, (i + 1) * size));
    const due = started + ((i + 1) * 100) / speed;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
  }
}
