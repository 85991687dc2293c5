import { StagedoorError } from '../errors.js';

/** One schema violation as fastify reports it (ajv's error object). */
interface SchemaIssue {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** What fastify's own refusals of a request carry. */
interface FastifyRefusal {
  code?: string;
  statusCode?: number;
  message?: string;
  validation?: SchemaIssue[];
  validationContext?: string;
}

/** What the request said about itself, for messages that tell the client what to change. */
export interface RequestFacts {
  contentType: string | undefined;
  /** The route's body limit in bytes. */
  bodyLimit: number | undefined;
}

/**
 * Fastify's refusal of a request's input (a schema violation, a body that does not parse or is too
 * large, an unknown content type) as a coded error whose message names the field at fault
 * (`body.type: must be one of "jti", "sub"`); undefined for anything that is not one (404s included).
 */
export function requestError(error: unknown, facts: RequestFacts): StagedoorError | undefined {
  const refusal = error as FastifyRefusal;
  if (Array.isArray(refusal.validation) && refusal.validation.length > 0) {
    const where =
      CONTEXTS[refusal.validationContext ?? ''] ?? refusal.validationContext ?? 'request';
    const problems = refusal.validation.map((issue) => describeIssue(where, issue));
    return new StagedoorError('REQUEST_INVALID', problems.join('; '), { cause: error });
  }
  switch (refusal.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new StagedoorError(
        'REQUEST_TOO_LARGE',
        facts.bodyLimit === undefined
          ? 'body: larger than this server takes'
          : `body: larger than the ${facts.bodyLimit} bytes this server takes`,
        { cause: error },
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new StagedoorError(
        'REQUEST_INVALID',
        `content-type ${JSON.stringify(facts.contentType ?? '')} is not accepted: send JSON with content-type: application/json`,
        { cause: error },
      );
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new StagedoorError('REQUEST_INVALID', 'body: is not valid JSON', { cause: error });
    case 'FST_ERR_BAD_URL':
      return new StagedoorError('REQUEST_INVALID', 'path: a %-escape in it does not decode', {
        cause: error,
      });
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new StagedoorError(
        'REQUEST_INVALID',
        'path: a part of it is longer than this server takes',
        {
          cause: error,
        },
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new StagedoorError(
        'REQUEST_INVALID',
        'body: is empty, but content-type says it is JSON',
        { cause: error },
      );
  }
  const status = refusal.statusCode;
  if (status !== undefined && status >= 400 && status < 500 && status !== 404)
    return new StagedoorError('REQUEST_INVALID', refusal.message, { cause: error });
  return undefined;
}

/** Fastify's names for the parts of a request, as a client writes them. */
const CONTEXTS: Record<string, string> = {
  body: 'body',
  querystring: 'query',
  params: 'params',
  headers: 'headers',
};

/** `body.keys[0].kid: is required` from ajv's `{ instancePath: '/keys/0', params: { missingProperty: 'kid' } }`. */
function describeIssue(where: string, issue: SchemaIssue): string {
  const at = fieldPath(where, issue.instancePath);
  const { params } = issue;
  switch (issue.keyword) {
    case 'required':
      return `${at}.${String(params.missingProperty)}: is required`;
    case 'additionalProperties':
      return `${at}.${String(params.additionalProperty)}: is not a field of this request`;
    case 'enum':
      return `${at}: must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'format':
      return params.format === 'date-time'
        ? `${at}: must be an ISO 8601 time with a zone, such as 2026-12-01T00:00:00Z`
        : `${at}: must be a ${String(params.format)}`;
    default:
      return `${at}: ${issue.message ?? 'is not valid'}`;
  }
}

/** `body` + `/keys/0/kid` → `body.keys[0].kid` (JSON pointer escapes undone). */
function fieldPath(where: string, pointer: string): string {
  if (pointer === '') return where;
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : `${path}.${part}`), where);
}
