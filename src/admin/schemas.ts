// JSON schemas of the admin API: they validate input and document the API (OpenAPI).

export const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;

export const sessionSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    node: { type: 'string', description: 'the node that holds the session' },
    kind: { type: 'string', enum: ['publisher', 'viewer'] },
    protocol: { type: 'string', enum: ['rtmp', 'ws', 'hls', 'http'] },
    stream: { type: 'string' },
    subject: { type: 'string' },
    scopes: { type: 'array', items: { type: 'string' } },
    jti: { type: 'string' },
    kid: { type: 'string' },
    issuer: { type: 'string' },
    address: { type: 'string' },
    startedAt: { type: 'string', format: 'date-time' },
    expiresAt: { type: 'string', format: 'date-time' },
    bytesIn: { type: 'integer' },
    bytesOut: { type: 'integer' },
  },
  required: ['id', 'kind', 'protocol', 'stream', 'address', 'startedAt', 'bytesIn', 'bytesOut'],
} as const;

/** A node as a cluster-wide listing reached it (one entry, this node, outside a cluster). */
export const nodeStatusSchema = {
  type: 'object',
  properties: {
    node: { type: 'string' },
    self: { type: 'boolean', description: 'the node that answered this request' },
    reachable: { type: 'boolean', description: 'false: its sessions are missing from the list' },
    sessions: { type: 'integer' },
    streams: { type: 'integer' },
    error: { type: 'string' },
  },
  required: ['node', 'self', 'reachable'],
} as const;

export const streamParams = {
  type: 'object',
  properties: {
    app: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' },
    stream: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' },
  },
  required: ['app', 'stream'],
} as const;

/** `maxSessionsPerSubject`, as the config and the stream security API take it. */
export const sessionLimitsSchema = {
  type: 'object',
  additionalProperties: false,
  description:
    'Concurrent sessions one subject may hold, cluster-wide (a token may lower it with its max_sessions claim)',
  properties: {
    play: { type: 'integer', minimum: 1 },
    publish: { type: 'integer', minimum: 1 },
    onLimit: { type: 'string', enum: ['refuse', 'replace-oldest'] },
  },
} as const;

export const securitySchema = {
  type: 'object',
  properties: {
    match: { type: 'string' },
    source: { type: 'string', enum: ['config', 'runtime', 'default'] },
    publish: { type: 'string', enum: ['secured', 'open'] },
    play: { type: 'string', enum: ['secured', 'open'] },
    requireExp: { type: 'boolean' },
    maxTokenLifetimeSec: { type: 'integer' },
    maxSessionsPerSubject: sessionLimitsSchema,
    keys: {
      type: 'array',
      items: { type: 'object', properties: { kid: { type: 'string' }, alg: { type: 'string' } } },
    },
    error: {
      type: 'string',
      description:
        'Why a saved rule could not be loaded; its streams are refused (STREAM_RULE_INVALID) until it is fixed',
    },
  },
} as const;

export const revocationSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    type: { type: 'string', enum: ['jti', 'sub'] },
    value: { type: 'string' },
    until: { type: 'string', format: 'date-time' },
    createdAt: { type: 'string', format: 'date-time' },
    reason: { type: 'string' },
  },
  required: ['id', 'type', 'value', 'until', 'createdAt'],
} as const;

export const bearer = [{ bearer: [] }];
