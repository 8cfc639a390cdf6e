// A small JSON Schema validator for the keywords result.schema.json uses (type, required,
// properties, additionalProperties, items, enum, const, minimum, minLength, minItems, $ref to
// #/$defs, propertyNames.pattern, format date-time). Returns the list of violations.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The keywords this validator understands (a subset of JSON Schema 2020-12). */
export interface Schema {
  $ref?: string;
  $defs?: Record<string, Schema>;
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  minimum?: number;
  minLength?: number;
  format?: string;
  minItems?: number;
  items?: Schema;
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  propertyNames?: { pattern?: string };
  [keyword: string]: unknown;
}

/** The schema file beside the sources (tsc does not copy JSON into dist/). */
export function loadResultSchema(): Schema {
  const path = fileURLToPath(new URL('../../client-bench/result.schema.json', import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as Schema;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function hasType(v: unknown, t: string): boolean {
  if (t === 'integer') return Number.isInteger(v);
  if (t === 'number') return typeof v === 'number' && Number.isFinite(v);
  return typeOf(v) === t;
}

export function validate(
  value: unknown,
  schema: Schema,
  root: Schema = schema,
  at = '$',
): string[] {
  const errs: string[] = [];
  if (schema.$ref !== undefined) {
    const name = schema.$ref.replace('#/$defs/', '');
    const def = root.$defs?.[name];
    if (def === undefined) return [`${at}: unknown $ref ${schema.$ref}`];
    return validate(value, def, root, at);
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => hasType(value, t))) {
      return [`${at}: expected ${types.join('|')}, got ${typeOf(value)} ${JSON.stringify(value)}`];
    }
  }
  if ('const' in schema && value !== schema.const)
    errs.push(`${at}: expected ${JSON.stringify(schema.const)}`);
  if (schema.enum !== undefined && !schema.enum.includes(value))
    errs.push(`${at}: ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'number' && schema.minimum !== undefined && value < schema.minimum) {
    errs.push(`${at}: ${value} < minimum ${schema.minimum}`);
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength)
      errs.push(`${at}: shorter than ${schema.minLength}`);
    if (schema.format === 'date-time' && Number.isNaN(Date.parse(value)))
      errs.push(`${at}: not a date-time`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      errs.push(`${at}: fewer than ${schema.minItems} items`);
    const items = schema.items;
    if (items !== undefined)
      value.forEach((v, i) => errs.push(...validate(v, items, root, `${at}[${i}]`)));
  }
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    for (const key of schema.required ?? [])
      if (!(key in obj)) errs.push(`${at}: missing "${key}"`);
    const pattern = schema.propertyNames?.pattern;
    for (const [key, v] of Object.entries(obj)) {
      if (pattern !== undefined && !new RegExp(pattern).test(key)) {
        errs.push(`${at}: property name "${key}" does not match ${pattern}`);
      }
      const sub = schema.properties?.[key];
      const extra = schema.additionalProperties;
      if (sub !== undefined) errs.push(...validate(v, sub, root, `${at}.${key}`));
      else if (extra === false) errs.push(`${at}: unexpected property "${key}"`);
      else if (typeof extra === 'object') errs.push(...validate(v, extra, root, `${at}.${key}`));
    }
  }
  return errs;
}
