// Messages for schema failures that name the problem: the field ajv found
// (its own "must NOT have additional properties" does not say which) and
// what a pattern means instead of the pattern itself.
import type { FastifyError } from 'fastify';

/** Stream fields of Gcore's API (gcore-python 0.53) that this server does not implement. */
export const GCORE_STREAM_FIELDS_NOT_IMPLEMENTED = new Set([
  'auto_record', 'broadcast_ids', 'cdn_id', 'client_entity_data', 'client_user_id', 'hls_mpegts_endlist_tag',
  'html_overlay', 'projection', 'quality_set_id', 'record_type', 'srt_passphrase',
]);

/** Patterns of the schemas, said in words. */
export const NO_CONTROL_CHARACTERS = '^[^\\u0000-\\u001f\\u007f-\\u009f]*$';
export const HTTP_URLS = '^(https?://[^\\s\\u0000-\\u001f\\u007f]+( https?://[^\\s\\u0000-\\u001f\\u007f]+)*)?$';
const PATTERN_WORDS: Record<string, string> = {
  [NO_CONTROL_CHARACTERS]: 'must not contain control characters (NUL, tab, newline, …)',
  [HTTP_URLS]: 'must be one or more http(s) URLs separated by single spaces (or empty)',
};

interface AjvError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

function where(context: string | undefined, instancePath: string): string {
  const field = instancePath.replace(/^\//, '').replace(/\//g, '.');
  return field ? `${context ?? 'body'}.${field}` : context ?? 'body';
}

export function validationMessage(err: FastifyError): string {
  const first = (err.validation as AjvError[] | undefined)?.[0];
  if (!first) return err.message;
  const at = where(err.validationContext, first.instancePath);
  if (first.keyword === 'additionalProperties') {
    const name = String(first.params.additionalProperty);
    const why = GCORE_STREAM_FIELDS_NOT_IMPLEMENTED.has(name)
      ? 'is a Gcore stream field this server does not implement'
      : 'is not a field this API takes';
    return `${at}: "${name}" ${why}`;
  }
  if (first.keyword === 'minProperties') return `${at} must name at least one field to change`;
  if (first.keyword === 'enum') {
    return `${at} must be one of: ${(first.params.allowedValues as unknown[]).join(', ')}`;
  }
  if (first.keyword === 'pattern') {
    const words = PATTERN_WORDS[String(first.params.pattern)];
    if (words) return `${at} ${words}`;
  }
  return err.message;
}
