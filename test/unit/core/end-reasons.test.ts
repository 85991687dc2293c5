import { describe, expect, it } from 'vitest';
import {
  END_REASONS,
  closeFrameFor,
  refusalAfter,
  type EndReason,
} from '../../../src/core/end-reasons.js';

describe('end reasons', () => {
  it('lists every reason with its WebSocket close frame and the refusal of later HLS requests (the contract clients rely on)', () => {
    const table = Object.fromEntries(
      (Object.keys(END_REASONS) as EndReason[]).map((reason) => {
        const frame = closeFrameFor(reason);
        return [
          reason,
          `${frame.code} ${frame.reason} | ${refusalAfter(reason)?.code ?? 'may come back'}`,
        ];
      }),
    );
    expect(table).toEqual({
      expired: '4401 TOKEN_EXPIRED | TOKEN_EXPIRED',
      kicked: '4403 KICKED | SESSION_ENDED',
      revoked: '4401 TOKEN_REVOKED | TOKEN_REVOKED',
      'key-retired': '4401 KEY_UNKNOWN | KEY_UNKNOWN',
      'security-changed': '4403 SECURITY_CHANGED | SESSION_ENDED',
      'publisher-gone': '1000 PUBLISHER_GONE | may come back',
      'client-closed': '1000 CLIENT_CLOSED | may come back',
      'taken-over': '4409 TAKEN_OVER | may come back',
      'limit-replaced': '4403 SESSION_LIMIT | SESSION_LIMIT',
      'slow-consumer': '4429 INGEST_TOO_FAST | may come back',
      'protocol-error': '4400 PROTOCOL_ERROR | may come back',
      error: '4500 TRANSCODER_FAILED | may come back',
      idle: '1000 IDLE | may come back',
      'too-fast': '4429 INGEST_TOO_FAST | may come back',
      'refresh-refused': '1000 REFRESH_REFUSED | may come back',
      shutdown: '1001 SHUTDOWN | SESSION_ENDED',
    });
  });

  it('keeps application close codes in the 4000 range and standard ones where WebSocket defines them', () => {
    for (const reason of Object.keys(END_REASONS) as EndReason[]) {
      const { code } = closeFrameFor(reason);
      expect(code === 1000 || code === 1001 || (code >= 4000 && code < 5000), reason).toBe(true);
    }
  });
});
