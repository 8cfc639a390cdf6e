// A small JSON Schema validator for the keywords result.schema.json uses (type, required,
// properties, additionalProperties, items, enum, const, minimum, minLength, minItems, $ref to
// #/$defs, propertyNames.pattern, format date-time). Returns the list of violations.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type Schema = Record<string, any>;

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
  if (schema.$ref) {
    const name = String(schema.$ref).replace('#/$defs/', '');
    return validate(value, root.$defs[name], root, at);
  }
  if (schema.type) {
    const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => hasType(value, t))) {
      return [`${at}: expected ${types.join('|')}, got ${typeOf(value)} ${JSON.stringify(value)}`];
    }
  }
  if ('const' in schema && value !== schema.const)
    errs.push(`${at}: expected ${JSON.stringify(schema.const)}`);
  if (schema.enum && !schema.enum.includes(value))
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
    if (schema.items)
      value.forEach((v, i) => errs.push(...validate(v, schema.items, root, `${at}[${i}]`)));
  }
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    for (const key of schema.required ?? [])
      if (!(key in obj)) errs.push(`${at}: missing "${key}"`);
    for (const [key, v] of Object.entries(obj)) {
      if (schema.propertyNames?.pattern && !new RegExp(schema.propertyNames.pattern).test(key)) {
        errs.push(`${at}: property name "${key}" does not match ${schema.propertyNames.pattern}`);
      }
      const sub = schema.properties?.[key];
      if (sub) errs.push(...validate(v, sub, root, `${at}.${key}`));
      else if (schema.additionalProperties === false)
        errs.push(`${at}: unexpected property "${key}"`);
      else if (typeof schema.additionalProperties === 'object') {
        errs.push(...validate(v, schema.additionalProperties, root, `${at}.${key}`));
      }
    }
  }
  return errs;
}
